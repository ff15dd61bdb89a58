"""Benchmark: /-/healthy while hundreds of clients follow the live event stream.

Runs ``aiwatch mock-ai`` and ``aiwatch run`` with chat targets probed every second (streamed
replies) and, from a second process, opens N ``/api/v1/events`` streams — half of them with
``probes=true``, so each probe result is written to those — while it pushes an alert every
200 ms (an ``incident`` event to every stream). Meanwhile this process asks ``GET /-/healthy``
every 20 ms. The stream process runs at nice 10, as clients elsewhere would not take the
daemon's CPU. It measures twice, without listeners and with N, and prints the answer times'
median and p99, their ratio, the daemon's CPU share, the events each stream received, the
streams dropped, and the machine's load average.

Run: ``PYTHONPATH=src python bench/events.py [--listeners 500] [--targets 20] [--seconds 30]``.
Everything listens on loopback ports and stops by itself (about two windows plus a minute).
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from daemon_loop import poll_healthy
from probe_throughput import cpu_seconds, free_port, machine, percentile, wait_port

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def config(targets: int, mock: str, storage: Path) -> str:
    """``targets`` streamed chat targets on mock-ai, probed every second."""
    lines = "".join(
        f"  - {{name: chat{i:03d}, kind: openai_chat, url: '{mock}', model: mock-gpt, "
        f"stream: true, interval: 1s, feature: bench}}\n"
        for i in range(targets)
    )
    return f"storage:\n  path: '{storage}'\ntargets:\n{lines}"


async def follow(
    session: aiohttp.ClientSession, url: str, counts: dict[str, int], until: float
) -> None:
    """Read one stream until ``until``, counting its events (and a final ``dropped``).

    Events are counted by their ``id:`` lines in each chunk read, which costs this process
    far less than parsing every line (one split across two chunks is rare and uncounted).
    """
    with contextlib.suppress(TimeoutError):
        try:
            async with asyncio.timeout(until - time.monotonic()), session.get(url) as resp:
                counts["open"] = 1
                if resp.status != 200:
                    counts["errors"] += 1
                    return
                async for chunk in resp.content.iter_any():
                    counts["events"] += chunk.count(b"id: ")
                    if b"event: dropped" in chunk:
                        counts["dropped"] += 1
                        return
        except aiohttp.ClientError:
            counts["errors"] += 1


async def push_alerts(base: str, until: float) -> int:
    """POST a new alert every 200 ms (each opens an incident); how many were pushed."""
    pushed = 0
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < until:
            # A new name each time (this process's id too): a repeat of a firing alert
            # changes nothing, so it would publish no event.
            body = [{"labels": {"alertname": f"Bench{os.getpid()}x{pushed}", "severity": "info"}}]
            async with session.post(base + "/api/v2/alerts", json=body) as resp:
                await resp.read()
            pushed += 1
            await asyncio.sleep(0.2)
    return pushed


async def child(base: str, listeners: int, seconds: float) -> dict[str, Any]:
    """Open ``listeners`` streams and push alerts for ``seconds``; what the streams got."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    until = time.monotonic() + seconds
    per = [{"events": 0, "dropped": 0, "errors": 0, "open": 0} for _ in range(listeners)]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [
            follow(session, base + "/api/v1/events" + ("?probes=true" if i % 2 else ""), c, until)
            for i, c in enumerate(per)
        ]
        *_, pushed = await asyncio.gather(*tasks, push_alerts(base, until))
    return {
        "pushed": pushed,
        "events_median": statistics.median(c["events"] for c in per) if per else 0,
        "events_min": min((c["events"] for c in per), default=0),
        "events_total": sum(c["events"] for c in per),
        "dropped": sum(c["dropped"] for c in per),
        "errors": sum(c["errors"] for c in per),
        "never_open": sum(not c["open"] for c in per),
    }


def start_listeners(base: str, listeners: int, seconds: float) -> subprocess.Popen[str]:
    """The stream-following process (this file with ``--child``)."""
    argv = [sys.executable, __file__, "--child", base, str(listeners), str(seconds)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=ENV)


async def window(base: str, pid: int, seconds: float) -> dict[str, float]:
    """Poll /-/healthy for ``seconds``: answer times in ms and the daemon's CPU share."""
    cpu, wall = cpu_seconds(pid), time.monotonic()
    ms = sorted(a * 1000 for a in await poll_healthy(base, seconds))
    return {
        "p50": percentile(ms, 0.5),
        "p99": percentile(ms, 0.99),
        "max": ms[-1],
        "n": len(ms),
        "cpu": (cpu_seconds(pid) - cpu) / (time.monotonic() - wall),
        "load": os.getloadavg()[0],
    }


def measure(base: str, pid: int, listeners: int, *, warmup: float, seconds: float) -> str:
    """One window with ``listeners`` streams (opened ``warmup`` s before); one report line."""
    proc = start_listeners(base, listeners, warmup + seconds + 2)
    try:
        time.sleep(warmup)
        f = asyncio.run(window(base, pid, seconds))
        out, _ = proc.communicate(timeout=warmup + seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    got = json.loads(out)
    line = (
        f"{listeners:>4} streams: /-/healthy p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms, "
        f"max {f['max']:.0f} ms ({f['n']:,.0f} requests); daemon CPU {f['cpu']:.0%} of a core; "
        f"{got['pushed']} alerts pushed"
    )
    if listeners:
        line += (
            f"; events per stream median {got['events_median']:,.0f} (min "
            f"{got['events_min']:,}), {got['events_total']:,} delivered, "
            f"{got['dropped']} streams dropped, {got['errors']} failed, "
            f"{got['never_open']} never opened"
        )
    return line + f"; load average {f['load']:.2f}"


def main() -> None:
    """Start mock-ai and the daemon, measure without and with listeners, print both."""
    if sys.argv[1:2] == ["--child"]:
        # The clients would be other machines: on this one they yield to the daemon.
        os.nice(10)
        base, listeners, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        print(json.dumps(asyncio.run(child(base, listeners, seconds))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listeners", type=int, default=500)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="aiwatch-events-bench-") as name:
        tmp = Path(name)
        mock_port, port = free_port(), free_port()
        cfg = tmp / "aiwatch.yml"
        cfg.write_text(config(args.targets, f"http://127.0.0.1:{mock_port}/v1", tmp / "data"))
        log = (tmp / "aiwatch.log").open("w")
        mock = subprocess.Popen(
            [sys.executable, "-m", "aiwatch", "mock-ai",
             f"--listen-address=127.0.0.1:{mock_port}"],
            stdout=log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True,
        )  # fmt: skip
        daemon = subprocess.Popen(
            [sys.executable, "-m", "aiwatch", "run", f"--config.file={cfg}",
             f"--web.listen-address=127.0.0.1:{port}", "--web.max-connections=2048",
             "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True,
        )  # fmt: skip
        try:
            wait_port(port, seconds=60)
            base = f"http://127.0.0.1:{port}"
            print(f"{args.targets} chat targets probed every 1 s; window {args.seconds:.0f} s")
            for listeners in (0, args.listeners):
                report = measure(
                    base, daemon.pid, listeners, warmup=args.warmup, seconds=args.seconds
                )
                print(report, flush=True)
        finally:
            for proc in (daemon, mock):
                os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(30)
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
            log.close()


if __name__ == "__main__":
    main()
