"""Fixtures for the foundation tests: a real ``aiwatch run`` subprocess on a free port."""

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import run_argv
from tests.daemons import READY_WITHIN, LoggedProcess, free_port, wait_ready


class Daemon(LoggedProcess):
    """A running ``aiwatch run`` with its stderr captured to a file."""

    def __init__(self, config: Path, tmp: Path, *, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = run_argv(config, f"127.0.0.1:{self.port}", tmp / "data", *extra)
        super().__init__(argv, tmp / f"aiwatch-{self.port}.log")

    def wait_ready(self, timeout: float = READY_WITHIN) -> None:
        """Block until ``/-/ready`` answers 200, or fail with the log."""
        wait_ready(self.url, exited=self.proc.poll, log=self.log, timeout=timeout)

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``; (status, body) also for HTTP errors."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """POST ``path``; (status, body) also for HTTP errors."""
        request = urllib.request.Request(self.url + path, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def stop(self) -> None:
        """Kill it (if still running) and close the log."""
        self.kill()


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[object]:
    """Start daemons for a test; all are stopped afterwards."""
    started: list[Daemon] = []

    def start(config: Path, *extra: str) -> Daemon:
        daemon = Daemon(config, tmp_path, extra=extra)
        started.append(daemon)
        daemon.wait_ready()
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
