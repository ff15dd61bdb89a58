"""Slow clients cannot hold the daemon: header deadline, connection cap, accept errors."""

import asyncio
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from aiwatch.web.connections import ACCEPT_ERROR, AcceptErrorLog
from tests.cli import aiwatch_argv, run_argv
from tests.daemons import free_port, stop_async, wait_ready_async

HEADER_TIMEOUT = 1


async def _slow_client(port: int, *, until: float, dropped: list[float], again: bool) -> None:
    """Trickle header lines (one every 0.3 s) until the server drops the connection; with
    ``again``, connect anew after each drop, until ``until``."""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        started = time.monotonic()
        try:
            writer.write(b"GET /-/healthy HTTP/1.1\r\n")
            while time.monotonic() < until:
                await asyncio.sleep(0.3)
                writer.write(b"X-Slow: y\r\n")
                await writer.drain()
                if reader.at_eof():
                    raise ConnectionResetError
        except OSError:
            dropped.append(time.monotonic() - started)
        finally:
            writer.close()
        if not again:
            return


async def _health(url: str, *, until: float) -> list[float]:
    """GET /-/healthy on a fresh connection every 0.2 s; each answer's time (inf if none)."""
    times = []
    timeout = aiohttp.ClientTimeout(total=5)
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url + "/-/healthy") as resp,
            ):
                await resp.read()
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        times.append(time.monotonic() - started if ok else float("inf"))
        await asyncio.sleep(0.2)
    return times


async def _start(
    tmp: Path, config: str, *extra: str, nofile: int | None = None
) -> tuple[str, asyncio.subprocess.Process]:
    path = tmp / "aiwatch.yml"
    path.write_text(config)
    port = free_port()
    argv = run_argv(path, f"127.0.0.1:{port}", tmp / "data", *extra)

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    log = tmp / "aiwatch.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=out, stderr=asyncio.subprocess.STDOUT, preexec_fn=limit
        )
    url = f"http://127.0.0.1:{port}"
    await wait_ready_async(url, exited=lambda: proc.returncode, log=log.read_text, within=30)
    return url, proc


async def test_slow_header_clients_are_dropped_after_the_header_timeout(tmp_path: Path) -> None:
    """1,000 clients trickling header bytes are all disconnected within the header timeout
    (1 s here) and some slack, and /-/healthy answers all along."""
    url, proc = await _start(
        tmp_path, "targets: []\n", "--web.read-header-timeout", f"{HEADER_TIMEOUT}s"
    )
    port = int(url.rsplit(":", 1)[1])
    try:
        until = time.monotonic() + 8
        dropped: list[float] = []
        clients = [
            asyncio.ensure_future(_slow_client(port, until=until, dropped=dropped, again=False))
            for _ in range(1000)
        ]
        health = await _health(url, until=time.monotonic() + 4)
        await asyncio.gather(*clients)
    finally:
        await stop_async(proc)
    assert len(dropped) == 1000
    assert max(dropped) < HEADER_TIMEOUT + 2.5, sorted(dropped)[-5:]
    # Every check answered (the times, on two shared cores, are bench/abuse.py's business).
    assert max(health) < 5.0, health


@pytest.fixture
def mock_ai(tmp_path: Path) -> Iterator[str]:
    """``aiwatch mock-ai`` on a free port: a healthy OpenAI-compatible endpoint."""
    import subprocess

    port = free_port()
    log = (tmp_path / "mock.log").open("wb")
    proc = subprocess.Popen(
        aiwatch_argv("mock-ai", "--listen-address", f"127.0.0.1:{port}"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


async def _metrics(url: str) -> dict[str, float]:
    """``aiwatch_probes_total`` by result."""
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as resp:
        text = await resp.text()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("aiwatch_probes_total{"):
            result = line.split('result="', 1)[1].split('"', 1)[0]
            counts[result] = counts.get(result, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


async def test_slow_clients_under_a_1024_file_limit_disturb_neither_health_nor_probes(
    tmp_path: Path, mock_ai: str
) -> None:
    """With 1,024 file descriptors (systemd's default) and 1,100 slow clients, /-/healthy keeps
    answering and a healthy target's probes all succeed; nothing fails to accept."""
    config = (
        "global:\n  probe_interval: 1s\n  probe_timeout: 2s\n"
        f"targets:\n  - name: chat\n    kind: openai_chat\n    url: {mock_ai}/v1\n"
        "    model: gpt-4o-mini\n"
    )
    url, proc = await _start(tmp_path, config, "--web.read-header-timeout", "5s", nofile=1024)
    port = int(url.rsplit(":", 1)[1])
    try:
        before = await _metrics(url)
        until = time.monotonic() + 8
        dropped: list[float] = []
        clients = [
            asyncio.ensure_future(_slow_client(port, until=until, dropped=dropped, again=False))
            for _ in range(1100)
        ]
        health = await _health(url, until=until)
        await asyncio.gather(*clients)
        after = await _metrics(url)
    finally:
        await stop_async(proc)
    log = (tmp_path / "aiwatch.log").read_text()
    assert len(dropped) == 1100
    # Every check answered (the times, on two shared cores, are bench/abuse.py's business).
    assert max(health) < 5.0, health
    assert after.get("failure", 0.0) == before.get("failure", 0.0), (before, after)
    assert after.get("success", 0.0) - before.get("success", 0.0) >= 5, (before, after)
    assert "out of system resource" not in log
    assert "Cannot accept connections" not in log


def test_accept_errors_are_logged_once_a_second_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """10,000 accept() failures in 2.5 s of (fake) time make three log lines whose counts add
    up to 10,000, not 10,000 lines."""
    now = [0.0]
    handler = AcceptErrorLog(clock=lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        for i in range(10_000):
            now[0] = i * 0.00025
            handler(
                loop, {"message": ACCEPT_ERROR, "exception": OSError(24, "Too many open files")}
            )
    finally:
        loop.close()
    lines = [r for r in caplog.records if r.getMessage().startswith("Cannot accept connections")]
    assert len(lines) == 3
    assert sum(r.__dict__["failures"] for r in lines) + handler.count == 10_000
    assert lines[0].__dict__["err"] == "[Errno 24] Too many open files"
