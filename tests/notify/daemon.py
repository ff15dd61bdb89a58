"""A real ``aiwatch run`` subprocess driven from async tests."""

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Daemon:
    """``aiwatch run`` on a free port with its storage in ``data``; output to a log file."""

    def __init__(self, config: Path, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data.parent / f"aiwatch-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiwatch",
                "run",
                "--config.file",
                str(config),
                "--web.listen-address",
                f"127.0.0.1:{self.port}",
                "--storage.path",
                str(data),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        """What the daemon printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    async def ready(self, session: aiohttp.ClientSession, within: float = 20.0) -> None:
        """Wait for ``/-/ready``; fail with the log if the daemon dies or never gets there."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                msg = f"aiwatch exited with {self.proc.returncode}:\n{self.log()}"
                raise AssertionError(msg)
            try:
                async with session.get(self.url + "/-/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        msg = f"aiwatch not ready after {within}s:\n{self.log()}"
        raise AssertionError(msg)

    async def post_alerts(self, session: aiohttp.ClientSession, alerts: list[Any]) -> None:
        """POST Alertmanager-v2 alerts to the daemon (from loopback: no auth needed)."""
        async with session.post(self.url + "/api/v2/alerts", json=alerts) as resp:
            body = await resp.text()
            assert resp.status < 300, body

    async def metric(self, session: aiohttp.ClientSession, name: str) -> float | None:
        """The value of an unlabelled sample on ``/metrics``."""
        async with session.get(self.url + "/metrics") as resp:
            text = await resp.text()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    async def stop(self, sig: signal.Signals, within: float = 15.0) -> float:
        """Send ``sig`` and wait for the exit; returns how long it took."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        while self.proc.poll() is None:
            if time.monotonic() - started > within:
                self.proc.kill()
                self.proc.wait()
                break
            await asyncio.sleep(0.05)
        self._log.close()
        return time.monotonic() - started

    def kill(self) -> None:
        """Make sure the process is gone (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()
