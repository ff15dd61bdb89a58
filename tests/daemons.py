"""Real ``aiwatch`` subprocesses for tests: a free loopback port, start, wait for readiness, stop.

Both flavours are here: :class:`LoggedProcess` (``subprocess.Popen``, for sync tests and
for async tests that poll it) and :func:`spawn` / :func:`stop_async` (asyncio processes).
Each writes the child's stdout and stderr to one log file, shown when a daemon fails to start.
"""

import asyncio
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp

READY_WITHIN = 60.0
"""How long a daemon may take to become ready: on a loaded machine start-up alone has taken
20 s. A daemon that hangs still fails, at the latest at the per-test timeout."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LoggedProcess:
    """A ``Popen`` child whose stdout and stderr go to ``log_path``."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        """What the process printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM (if still running), SIGKILL after ``timeout`` s; close the log; the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (if still running) and close the log: test teardown."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()


def _not_ready(url: str, returncode: int | None, log: Callable[[], str], timeout: float) -> str:
    if returncode is not None:
        return f"aiwatch exited with {returncode} ({url}):\n{log()}"
    return f"aiwatch not ready after {timeout}s ({url}):\n{log()}"


def wait_ready(
    url: str,
    *,
    exited: Callable[[], int | None],
    log: Callable[[], str],
    timeout: float = READY_WITHIN,
    interval: float = 0.1,
) -> None:
    """Block until ``url/-/ready`` answers 200; fail with ``log()`` if the process exits
    (``exited()`` returns its code) or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (code := exited()) is not None:
            raise AssertionError(_not_ready(url, code, log, timeout))
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(interval)
    raise AssertionError(_not_ready(url, None, log, timeout))


async def wait_ready_async(
    url: str,
    *,
    exited: Callable[[], int | None],
    log: Callable[[], str],
    within: float = READY_WITHIN,
    interval: float = 0.1,
    path: str = "/-/ready",
    tls: ssl.SSLContext | None = None,
    session: aiohttp.ClientSession | None = None,
) -> None:
    """Poll ``url + path`` until it answers 200 (over TLS with ``tls``); fail with ``log()``
    if the process exits or ``within`` s pass. Uses ``session`` if given."""
    own = session is None
    client = aiohttp.ClientSession() if session is None else session
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (code := exited()) is not None:
                raise AssertionError(_not_ready(url, code, log, within))
            try:
                async with client.get(url + path, ssl=True if tls is None else tls) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(interval)
        raise AssertionError(_not_ready(url, None, log, within))
    finally:
        if own:
            await client.close()


async def spawn(
    argv: list[str], log_path: Path, *, append: bool = False
) -> asyncio.subprocess.Process:
    """Start ``argv`` as an asyncio child with stdout and stderr going to ``log_path``
    (appended to with ``append``, else truncated)."""
    with log_path.open("ab" if append else "wb") as out:
        return await asyncio.create_subprocess_exec(
            *argv, stdout=out, stderr=asyncio.subprocess.STDOUT
        )


async def stop_async(
    proc: asyncio.subprocess.Process, *, grace: float = 15.0, kill: bool = True
) -> int:
    """SIGTERM (if still running) and wait; after ``grace`` s SIGKILL it (with ``kill``)
    or let ``TimeoutError`` out (without). The exit code."""
    if proc.returncode is None:
        proc.terminate()
    if not kill:
        return await asyncio.wait_for(proc.wait(), grace)
    try:
        return await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        proc.kill()
        return await proc.wait()
