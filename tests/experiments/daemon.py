"""A real ``aiwatch run`` subprocess for the experiments tests."""

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.cli import run_argv
from tests.daemons import free_port, spawn, stop_async, wait_ready_async


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


class Daemon:
    """``aiwatch run`` on a free loopback port with the given config and storage path."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    @classmethod
    async def start(cls, config: Path, storage: Path, log: Path) -> "Daemon":
        """Start it and wait until ``/-/ready`` answers (failing with its log otherwise)."""
        port = free_port()
        argv = run_argv(config, f"127.0.0.1:{port}", storage)
        proc = await spawn(argv, log, append=True)
        daemon = cls(proc, f"http://127.0.0.1:{port}", log)
        try:
            await wait_ready_async(
                daemon.url, exited=lambda: proc.returncode, log=lambda: _text(log)
            )
        except AssertionError:
            await daemon.stop()
            raise
        return daemon

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Send a request; the status and the JSON body (or the text for non-JSON)."""
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, **kwargs) as resp,
        ):
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def stop(self) -> int:
        """SIGTERM, then wait (kill after 15 s); the exit code."""
        return await stop_async(self.proc, grace=15.0)
