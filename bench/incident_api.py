"""Benchmark: the incident API under steady reads and acknowledgements, against one daemon.

Starts ``aiwatch run`` (a real subprocess, basic auth with bcrypt cost 10, alice an admin),
opens enough incidents through ``POST /api/v2/alerts``, then for ``--duration`` seconds sends
``--reads`` reads per second (alternating a page of 50 incidents and one incident with its
timeline) and ``--acks`` acknowledgements per second, on a fixed schedule (open loop: a slow
answer does not delay the next request). It prints p50/p99 latency per kind, the errors
(anything but 200), and the event-loop lag of the daemon, measured as the latency of
``GET /-/healthy`` from a separate thread every 20 ms on its own keep-alive connection — an
upper bound, since it includes the loopback round trip. A reference run of the same probe on
the idle daemon is printed beside it.

Run: ``python bench/incident_api.py [--duration 60] [--reads 200] [--acks 50]``.
"""

import argparse
import asyncio
import base64
import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt

from probe_throughput import free_port

USER, PASSWORD = "alice", "bench-password"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def start_daemon(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``aiwatch run`` with basic auth; returns the process and its port once ready."""
    config = tmp / "aiwatch.yml"
    config.write_text(f"targets: []\nweb:\n  admin_users: [{USER}]\n")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    web_config = tmp / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  {USER}: {hashed}\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiwatch", "run", "--config.file", str(config),
         "--web.listen-address", f"127.0.0.1:{port}", "--storage.path", str(tmp / "data"),
         "--web.config.file", str(web_config), "--log.level", "warn"],
    )  # fmt: skip
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    msg = "aiwatch did not start"
    raise SystemExit(msg)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class LagProbe(threading.Thread):
    """GET /-/healthy every 20 ms on one keep-alive connection, recording each latency."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        """Probe until stopped."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop.is_set():
            t0 = time.perf_counter()
            conn.request("GET", "/-/healthy")
            conn.getresponse().read()
            self.samples.append(time.perf_counter() - t0)
            self.stop.wait(0.02)
        conn.close()


def measure_idle(port: int, seconds: float = 3.0) -> list[float]:
    """The lag probe on the idle daemon: the reference."""
    probe = LagProbe(port)
    probe.start()
    time.sleep(seconds)
    probe.stop.set()
    probe.join()
    return probe.samples


async def seed(session: aiohttp.ClientSession, url: str, count: int) -> None:
    """Open ``count`` firing incidents, 500 alerts per request."""
    for start in range(0, count, 500):
        alerts = [
            {"labels": {"alertname": "BenchDown", "severity": "critical", "n": str(i)},
             "annotations": {"summary": f"endpoint {i} is down"}}
            for i in range(start, min(start + 500, count))
        ]  # fmt: skip
        async with session.post(url + "/api/v2/alerts", json=alerts, headers=AUTH) as resp:
            assert resp.status == 200, await resp.text()


async def drive(url: str, *, duration: float, reads: int, acks: int) -> dict[str, Any]:
    """Send the open-loop load; returns latencies by kind and the error count."""
    latencies: dict[str, list[float]] = {"list": [], "get": [], "ack": []}
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        await seed(session, url, int(acks * duration * 1.1) + 100)
        pending: set[asyncio.Task[None]] = set()
        next_ack = 1

        async def one(kind: str, method: str, path: str, body: Any = None) -> None:
            t0 = time.perf_counter()
            try:
                async with session.request(method, url + path, json=body, headers=AUTH) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors.append(f"{kind} {resp.status}")
                        return
            except aiohttp.ClientError as err:
                errors.append(f"{kind} {err}")
                return
            latencies[kind].append(time.perf_counter() - t0)

        events = sorted(
            [(i / reads, "read", i) for i in range(int(reads * duration))]
            + [(i / acks, "ack", i) for i in range(int(acks * duration))]
        )
        client_lag: list[float] = []

        async def ticker() -> None:
            # The client's own loop delay: it inflates every measured latency by as much.
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.01)
                client_lag.append(time.perf_counter() - t0 - 0.01)

        ticking = asyncio.create_task(ticker())
        start = time.perf_counter()
        for at, kind, i in events:
            delay = start + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == "ack":
                coro = one("ack", "POST", f"/api/v1/incidents/{next_ack}/acknowledge", {})
                next_ack += 1
            elif i % 2:
                coro = one("list", "GET", "/api/v1/incidents?state=firing&limit=50")
            else:
                coro = one("get", "GET", f"/api/v1/incidents/{1 + i % max(next_ack, 1)}")
            task = asyncio.create_task(coro)
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        ticking.cancel()
    return {"latencies": latencies, "errors": errors, "client_lag": client_lag}


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--acks", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_daemon(Path(tmp))
        try:
            url = f"http://127.0.0.1:{port}"
            idle = measure_idle(port)
            probe = LagProbe(port)
            probe.start()
            out = asyncio.run(drive(url, duration=args.duration, reads=args.reads, acks=args.acks))
            probe.stop.set()
            probe.join()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(
        f"incident API: {args.reads} reads/s + {args.acks} acks/s for {args.duration:g} s, "
        "one aiwatch run, basic auth"
    )
    for kind, values in out["latencies"].items():
        print(
            f"  {kind:5s} n={len(values):6d}  p50 {pct(values, 0.5):7.2f} ms  "
            f"p99 {pct(values, 0.99):7.2f} ms  max {pct(values, 1.0):7.2f} ms"
        )
    print(
        f"  errors: {len(out['errors'])}" + (f" e.g. {out['errors'][:3]}" if out["errors"] else "")
    )
    print(
        f"  loop lag (GET /-/healthy from a thread): p50 {pct(probe.samples, 0.5):.2f} ms, "
        f"p99 {pct(probe.samples, 0.99):.2f} ms, max {pct(probe.samples, 1.0):.2f} ms "
        f"(n={len(probe.samples)}); idle reference p50 {pct(idle, 0.5):.2f} ms, "
        f"p99 {pct(idle, 0.99):.2f} ms"
    )
    if probe.samples:
        print(f"  loop lag mean {1000 * statistics.fmean(probe.samples):.2f} ms")
    lag = out["client_lag"]
    print(f"  bench client's own loop lag: p50 {pct(lag, 0.5):.2f} ms, p99 {pct(lag, 0.99):.2f} ms")


if __name__ == "__main__":
    main()
