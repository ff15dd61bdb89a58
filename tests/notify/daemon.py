"""A real ``aiwatch run`` subprocess driven from async tests."""

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.cli import run_argv
from tests.daemons import READY_WITHIN, LoggedProcess, free_port, wait_ready_async


class Daemon(LoggedProcess):
    """``aiwatch run`` on a free port with its storage in ``data``; output to a log file."""

    def __init__(self, config: Path, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = run_argv(config, f"127.0.0.1:{self.port}", data)
        super().__init__(argv, data.parent / f"aiwatch-{self.port}.log")

    async def ready(self, session: aiohttp.ClientSession, within: float = READY_WITHIN) -> None:
        """Wait for ``/-/ready``; fail with the log if the daemon dies or never gets there."""
        await wait_ready_async(
            self.url, exited=self.proc.poll, log=self.log, within=within, session=session
        )

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
