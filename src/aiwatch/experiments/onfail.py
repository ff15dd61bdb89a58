"""``on_fail: incident``: a failing release verdict opens an incident, as a pushed alert would.

Each check computes the verdict of every canary and blue-green experiment that asks for it
and hands the incident store an ``ExperimentFailed`` alert: firing while the experiment runs
and its verdict is ``fail``, resolved otherwise (a pass, a pause, a stop, a deletion). Only
changes are sent, except at the first check after start-up, which resolves what a previous
run left open. The store routes the incident to notifications as it does any alert's.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from aiwatch.config.experiments import RELEASE_TYPES
from aiwatch.experiments.tracker import Live
from aiwatch.incidents.lifecycle import Alert
from aiwatch.rules.fingerprint import fingerprint

log = logging.getLogger("aiwatch.experiments")

ALERT_NAME = "ExperimentFailed"
CHECK_INTERVAL = 5.0


class AlertStore(Protocol):
    """The incident store's intake (``IncidentStore.observe``)."""

    async def observe(self, alerts: Sequence[Alert]) -> object: ...


def labels_of(live: Live) -> dict[str, str]:
    """The alert's labels: one alert per experiment."""
    return {
        "alertname": ALERT_NAME,
        "experiment": live.config.name,
        "type": live.config.type,
        "severity": "critical",
    }


class FailureWatch:
    """Turns release verdicts into incident alerts (see the module's docstring)."""

    def __init__(
        self,
        store: AlertStore,
        experiments: Callable[[], Iterable[Live]],
        *,
        clock: Callable[[], float],
        interval: float = CHECK_INTERVAL,
    ) -> None:
        self._store = store
        self._experiments = experiments
        self._clock = clock
        self.interval = interval
        self._failing: dict[str, dict[str, str] | None] | None = None
        """Each watched experiment's labels while its alert fires (None: not firing)."""
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Send the alerts whose state changed since the last check."""
        async with self._lock:
            now = self._clock()
            first = self._failing is None
            before = self._failing or {}
            after: dict[str, dict[str, str] | None] = {}
            alerts: list[Alert] = []
            for live in self._experiments():
                if live.config.type not in RELEASE_TYPES or live.config.on_fail != "incident":
                    continue
                verdict = live.verdict() if live.state == "running" else None
                failing = verdict is not None and verdict.verdict == "fail"
                labels = labels_of(live)
                after[live.config.name] = labels if failing else None
                if first or (before.get(live.config.name) is not None) != failing:
                    reason = verdict.reason if verdict is not None else f"experiment {live.state}"
                    alerts.append(_alert(labels, failing=failing, reason=reason, at=now))
            # An experiment gone since the last check (deleted, removed from the config).
            alerts.extend(
                _alert(labels, failing=False, reason="experiment removed", at=now)
                for name, labels in before.items()
                if labels is not None and name not in after
            )
            if alerts:
                await self._store.observe(alerts)
            self._failing = after

    async def run(self) -> None:
        """Check every ``interval`` until cancelled."""
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("Could not check experiments for on_fail incidents")
            await asyncio.sleep(self.interval)

    async def stop(self, task: "asyncio.Task[None]") -> None:
        """Cancel the running loop ``task``."""
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _alert(labels: dict[str, str], *, failing: bool, reason: str, at: float) -> Alert:
    return Alert(
        fingerprint=fingerprint(labels.items()),
        state="firing" if failing else "resolved",
        labels=labels,
        annotations={"summary": f"{labels['experiment']}: {reason}"},
        value=1.0 if failing else 0.0,
        at=at,
        fired_at=at if failing else None,
        resolved_at=None if failing else at,
    )
