"""Real ``aiwatch`` subprocesses for tests: a free loopback port, start, wait for readiness, stop.

Both flavours are here: :class:`DaemonProcess` on :class:`LoggedProcess` (``subprocess.Popen``,
for sync tests and for async tests that poll it) and :class:`Daemon` (an asyncio child started
with :func:`spawn`, stopped with :func:`stop_async`, for async tests). Each writes the child's
stdout and stderr to one log file, shown when a daemon fails to start.
"""

import asyncio
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.cli import run_argv

READY_WITHIN = 60.0
"""How long a daemon may take to become ready: on a loaded machine start-up alone has taken
20 s. A daemon that hangs still fails, at the latest at the per-test timeout."""


def child_processes(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of the child processes of ``pid``, zombies (state ``Z``) included."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(stat.parent.name), fields[0]))
    return out


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


class Daemon:
    """A real ``aiwatch run`` on a loopback port, driven from async tests.

    Its output goes to ``log_path`` (appended to, so a restart keeps the first run's lines);
    :meth:`start` returns once it is ready, or fails with that log and stops it.
    """

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log_path: Path) -> None:
        self.proc, self.url, self.log_path = proc, url, log_path

    @classmethod
    async def start(
        cls,
        config: Path,
        storage: Path,
        *extra: str,
        log: Path,
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
        ready_path: str = "/-/ready",
        interval: float = 0.1,
    ) -> "Daemon":
        """``aiwatch run`` with ``config`` and ``storage`` on ``port`` (a free one by default);
        with ``tls``, readiness is asked over HTTPS (``url`` stays ``http://…``)."""
        port = port or free_port()
        argv = run_argv(config, f"127.0.0.1:{port}", storage, *extra)
        proc = await spawn(argv, log, append=True)
        daemon = cls(proc, f"http://127.0.0.1:{port}", log)
        ready_url = daemon.url if tls is None else f"https://127.0.0.1:{port}"
        try:
            await wait_ready_async(
                ready_url,
                exited=lambda: proc.returncode,
                log=daemon.log,
                interval=interval,
                path=ready_path,
                tls=tls,
            )
        except AssertionError:
            await daemon.stop()
            raise
        return daemon

    def log(self) -> str:
        """What the daemon printed so far."""
        return self.log_path.read_text(errors="replace")

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``: the status and the body."""
        async with aiohttp.ClientSession() as session, session.get(self.url + path) as resp:
            return resp.status, await resp.read()

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """Send a request; the status and the JSON body (or the text for non-JSON)."""
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, **kwargs) as resp,
        ):
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()

    async def stop(self, *, grace: float = 15.0, kill: bool = True) -> int:
        """SIGTERM and wait; after ``grace`` s SIGKILL it (with ``kill``) or let
        ``TimeoutError`` out (without). The exit code."""
        return await stop_async(self.proc, grace=grace, kill=kill)


class DaemonProcess(LoggedProcess):
    """A real ``aiwatch run`` as a ``Popen`` child on a free loopback port, with its storage in
    ``storage`` and its output in ``aiwatch-PORT.log`` beside it: for sync tests, and for
    async tests that drive it over their own client session."""

    def __init__(self, config: Path, storage: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = run_argv(config, f"127.0.0.1:{self.port}", storage, *extra)
        super().__init__(argv, storage.parent / f"aiwatch-{self.port}.log")

    def wait_ready(self, timeout: float = READY_WITHIN) -> None:
        """Block until ``/-/ready`` answers 200, or fail with the log."""
        wait_ready(self.url, exited=self.proc.poll, log=self.log, timeout=timeout)

    async def ready(self, session: aiohttp.ClientSession, within: float = READY_WITHIN) -> None:
        """Wait for ``/-/ready``; fail with the log if the daemon dies or never gets there."""
        await wait_ready_async(
            self.url, exited=self.proc.poll, log=self.log, within=within, session=session
        )

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
        """Send ``sig`` and wait for the exit (SIGKILL after ``within`` s); how long it took."""
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
