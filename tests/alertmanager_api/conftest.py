"""Fixtures for the Alertmanager API tests: aiwatch and a real Alertmanager side by side."""

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.daemons import DaemonProcess, LoggedProcess, free_port, wait_ready

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
AM_CONFIG = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'


def amtool(url: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``amtool --alertmanager.url=URL ARGS…``; never raises on its exit code."""
    return subprocess.run(
        [AMTOOL, f"--alertmanager.url={url}", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def amtool_ok(url: str, *args: str) -> str:
    """``amtool`` that must succeed; its stdout."""
    done = amtool(url, *args)
    assert done.returncode == 0, f"amtool {' '.join(args)} at {url}: {done.stderr}"
    return done.stdout


def amtool_json(url: str, *args: str) -> Any:
    """``amtool … -o json`` parsed."""
    return json.loads(amtool_ok(url, *args, "-o", "json"))


def until(check: Callable[[], bool], within: float = 20.0, interval: float = 0.1) -> bool:
    """Poll ``check`` until it holds or ``within`` s pass; its last answer."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


@dataclass
class Pair:
    """aiwatch and Alertmanager, both on loopback: their base URLs."""

    aiwatch: str
    alertmanager: str
    daemon: DaemonProcess

    @property
    def urls(self) -> tuple[str, str]:
        return self.aiwatch, self.alertmanager


def start_alertmanager(tmp: Path) -> tuple[LoggedProcess, str]:
    """A real Alertmanager with a null receiver, no clustering, storage in ``tmp``."""
    config = tmp / "alertmanager.yml"
    config.write_text(AM_CONFIG)
    port = free_port()
    argv = [
        ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ]  # fmt: skip
    proc = LoggedProcess(argv, tmp / "alertmanager.log")
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, exited=proc.proc.poll, log=proc.log)
    return proc, url


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """``aiwatch run`` (no web config: loopback clients are admins) and Alertmanager."""
    tmp = tmp_path_factory.mktemp("amapi")
    config = tmp / "aiwatch.yml"
    config.write_text("global:\n  evaluation_interval: 1s\ntargets: []\n")
    daemon = DaemonProcess(config, tmp / "data")
    am: LoggedProcess | None = None
    try:
        daemon.wait_ready()
        am, am_url = start_alertmanager(tmp)
        yield Pair(daemon.url, am_url, daemon)
    finally:
        daemon.terminate()
        if am is not None:
            am.terminate()
        assert "Traceback" not in daemon.log_path.read_text()


from tests.incidents.conftest import serve  # noqa: E402, F401  (the in-process daemon app)
