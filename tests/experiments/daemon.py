"""A real ``aiwatch run`` subprocess for the experiments tests."""

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "aiwatch",
                "run",
                "--config.file",
                str(config),
                "--web.listen-address",
                f"127.0.0.1:{port}",
                "--storage.path",
                str(storage),
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        daemon = cls(proc, f"http://127.0.0.1:{port}", log)
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                if proc.returncode is not None:
                    raise AssertionError(f"aiwatch exited:\n{_text(log)}")
                try:
                    async with session.get(daemon.url + "/-/ready") as resp:
                        if resp.status == 200:
                            return daemon
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await daemon.stop()
        raise AssertionError(f"aiwatch not ready:\n{_text(log)}")

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
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode
