"""Real processes for end-to-end tests: ``aiwatch mock-ai`` and ``aiwatch run``."""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli import aiwatch_argv, run_argv
from tests.daemons import LoggedProcess, free_port, wait_ready


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """One JSON request; (status, decoded body) also for HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class Process(LoggedProcess):
    """A child process whose output goes to a log file."""

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 10 s; returns the exit code."""
        return self.terminate(10.0)


def wait_for(predicate: Any, *, timeout: float, what: str, log: Any = None) -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}" + (f"\n{log()}" if log else ""))


class Stack:
    """Starts mock-ai and aiwatch daemons for one test and stops them all afterwards."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.processes: list[Process] = []

    def mock_ai(self) -> str:
        """Start ``aiwatch mock-ai`` on a free port; returns its base URL (without /v1)."""
        port = free_port()
        proc = Process(
            aiwatch_argv("mock-ai", "--listen-address", f"127.0.0.1:{port}"),
            self.tmp / f"mock-{port}.log",
        )
        self.processes.append(proc)
        wait_for(
            lambda: re.search(r"listening on", proc.log()),
            timeout=20,
            what="mock-ai to listen",
            log=proc.log,
        )
        return f"http://127.0.0.1:{port}"

    def daemon(
        self, config: Path, *extra: str, storage: Path | None = None, port: int | None = None
    ) -> tuple[str, Process]:
        """Start ``aiwatch run``; returns its URL once ``/-/ready`` answers."""
        port = port or free_port()
        proc = Process(
            run_argv(config, f"127.0.0.1:{port}", storage or self.tmp / "data", *extra),
            self.tmp / f"aiwatch-{port}-{len(self.processes)}.log",
        )
        self.processes.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, exited=proc.proc.poll, log=proc.log, timeout=20, interval=0.2)
        return url, proc

    def stop(self) -> None:
        """Stop every process still running."""
        for proc in reversed(self.processes):
            proc.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Processes for one test, all stopped at the end."""
    s = Stack(tmp_path)
    yield s
    s.stop()
