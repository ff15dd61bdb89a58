"""A blue-green experiment's validation suite, run against green before the switch.

The run is ``aiwatch validate``'s own (``validation.cli.load`` then ``validation.execute``),
with the daemon's config file as ``--config.file`` so the suite may name its targets. One run
at a time per experiment, as an asyncio task; its budget is the suite's. Only the latest
result of each experiment is kept, in memory: a restart forgets it (run the suite again).
"""

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiwatch.config.model import Experiment

Status = Literal["running", "passed", "failed", "error"]


@dataclass(frozen=True)
class SuiteResult:
    """The latest run of an experiment's suite: how it stands, and what failed."""

    suite: str
    status: Status
    started_at: float
    finished_at: float | None = None
    failed: tuple[str, ...] = ()
    """Each failing check as ``target: message`` (or the reason the suite could not run)."""
    report: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``validation`` part of the verdict document."""
        return {
            "suite": self.suite,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "failed": list(self.failed),
            "report": self.report,
        }


def suite_path(experiment: Experiment, config_file: str) -> str:
    """The suite file, a relative path read from the config file's folder."""
    suite = experiment.validation_suite or ""
    return os.path.join(os.path.dirname(os.path.abspath(config_file)), suite)


@dataclass
class SuiteRuns:
    """Every experiment's latest suite result and the run in progress, if any."""

    results: dict[str, SuiteResult] = field(default_factory=dict)
    tasks: dict[str, "asyncio.Task[None]"] = field(default_factory=dict)

    def start(self, experiment: Experiment, config_file: str) -> SuiteResult | None:
        """Start a run; ``None`` when one is already running for this experiment."""
        name = experiment.name
        if name in self.tasks and not self.tasks[name].done():
            return None
        path = suite_path(experiment, config_file)
        running = SuiteResult(experiment.validation_suite or "", "running", time.time())
        self.results[name] = running
        self.tasks[name] = asyncio.create_task(
            self._run(name, path, config_file, running), name=f"aiwatch-validate-{name}"
        )
        return running

    async def _run(self, name: str, path: str, config_file: str, running: SuiteResult) -> None:
        from aiwatch.validation.cli import UsageError, load
        from aiwatch.validation.execute import execute
        from aiwatch.validation.report import to_json

        try:
            suite, targets, gates = await asyncio.to_thread(load, path, config_file, ())
            report = await execute(suite, targets, gates, name=running.suite)
        except UsageError as err:
            self._finish(name, running, "error", tuple(err.lines), None)
            return
        except Exception as err:  # a run that broke must not stay "running"
            self._finish(name, running, "error", (f"the run failed: {err}",), None)
            return
        failed = tuple(f"{o.gate}: {o.message}" for o in report.outcomes if not o.ok)
        status: Status = "passed" if report.passed else "failed"
        document = json.loads(json.dumps(to_json(report), default=str))
        self._finish(name, running, status, failed, document)

    def _finish(
        self,
        name: str,
        running: SuiteResult,
        status: Status,
        failed: tuple[str, ...],
        report: dict[str, Any] | None,
    ) -> None:
        self.results[name] = SuiteResult(
            running.suite, status, running.started_at, time.time(), failed, report
        )

    async def close(self) -> None:
        """Cancel the runs in progress (at shutdown)."""
        for task in self.tasks.values():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
