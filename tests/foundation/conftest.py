"""Fixtures for the foundation tests: a real ``aiwatch run`` subprocess on a free port."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemons import DaemonProcess


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[object]:
    """Start daemons for a test; all are stopped afterwards."""
    started: list[DaemonProcess] = []

    def start(config: Path, *extra: str) -> DaemonProcess:
        daemon = DaemonProcess(config, tmp_path / "data", *extra)
        started.append(daemon)
        daemon.wait_ready()
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
