"""Fixtures: the mock AI endpoint on a real port, and ``aiwatch validate`` run against it."""

import asyncio
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestServer

from aiwatch.mockai import MOCK, MockState, make_mock_app
from tests.cli import aiwatch_argv, run_cli

FAST = {"latency": 0.1, "time_to_first_token": 0.1, "tokens_per_second": 500, "output_tokens": 4}
PRICE = {"input_per_million": 0.15, "output_per_million": 0.6}


@dataclass
class Mock:
    """A running mock endpoint: its ``/v1`` URL and its state (counters, behaviours)."""

    url: str
    state: MockState

    def target(self, name: str, model: str, **extra: Any) -> dict[str, Any]:
        """A streaming chat target of the suite file at this mock."""
        return {
            "name": name,
            "kind": "openai_chat",
            "url": self.url,
            "model": model,
            "stream": True,
            "timeout": "5s",
            "price": PRICE,
            **extra,
        }

    @property
    def requests(self) -> int:
        """Requests the mock has answered (counted by the mock itself)."""
        return self.state.stats["requests"]


@pytest.fixture
async def mock(aiohttp_server: Callable[..., Any]) -> Mock:
    """The mock on 127.0.0.1, port 0: ``base`` and ``same`` fast, ``slow`` 30% slower,
    ``flaky`` as fast but failing 5% of requests (HTTP 500)."""
    slow = {**FAST, "latency": 0.13, "time_to_first_token": 0.13}
    app = make_mock_app(
        seed=3,
        behavior=FAST,
        models={"base": FAST, "same": FAST, "slow": slow, "flaky": {**FAST, "error_rate": 0.05}},
    )
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return Mock(url=f"http://127.0.0.1:{server.port}/v1", state=app[MOCK])


@dataclass
class Outcome:
    """What one ``aiwatch validate`` run did: exit code, output, and its JSON report."""

    process: subprocess.CompletedProcess[str]
    report: dict[str, Any] | None

    @property
    def code(self) -> int:
        return self.process.returncode

    def check(self, name: str, target: str | None = None) -> dict[str, Any]:
        """The JSON report's check called ``name`` (of ``target`` when given)."""
        assert self.report is not None, self.process.stderr
        for c in self.report["checks"]:
            if c["name"] == name and (target is None or c["target"] == target):
                return dict(c)
        raise AssertionError(f"no check {name!r} in {self.report['checks']}")


async def validate(
    tmp_path: Path, suite: dict[str, Any], *args: str, name: str = "suite.yml"
) -> Outcome:
    """Write ``suite`` to a file and run ``aiwatch validate`` on it, with ``--json``."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    report = tmp_path / f"{path.stem}.json"
    report.unlink(missing_ok=True)
    argv = aiwatch_argv("validate", str(path), "--json", str(report), *args)
    # In a thread: the mock is served by this test's own event loop meanwhile.
    process = await asyncio.to_thread(run_cli, argv, timeout=90.0)
    doc = json.loads(report.read_text()) if report.exists() else None
    return Outcome(process, doc)
