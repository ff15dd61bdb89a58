"""Benchmark: how long the pages take to answer, against the JSON API they are built from.

Starts ``aiwatch run`` (a real subprocess, basic auth with bcrypt cost 10, alice an admin,
no targets), opens ``--incidents`` incidents through ``POST /api/v2/alerts``, then asks each
route ``--requests`` times one after the other on one keep-alive connection and prints the
median and p99 answer time, and each page's median against that of the API request that
returns the same incidents (``GET /api/v1/incidents?limit=50`` for the list and the
overview's open incidents, ``GET /api/v1/incidents/1`` for an incident).

Run: ``PYTHONPATH=src python bench/pages.py [--incidents 1000] [--requests 200]``.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from incident_api import AUTH, start_daemon
from probe_throughput import machine, percentile

ROUTES = {
    "GET /api/v1/incidents?limit=50": "/api/v1/incidents?limit=50",
    "GET /incidents (page of 50)": "/incidents?state=all",
    "GET / (overview)": "/",
    "GET /api/v1/incidents/1": "/api/v1/incidents/1",
    "GET /incidents/1": "/incidents/1",
    "GET /silences": "/silences",
}
REFERENCE = {
    "GET /incidents (page of 50)": "GET /api/v1/incidents?limit=50",
    "GET / (overview)": "GET /api/v1/incidents?limit=50",
    "GET /incidents/1": "GET /api/v1/incidents/1",
}


async def open_incidents(session: aiohttp.ClientSession, url: str, count: int) -> None:
    """``count`` firing alerts, 100 a request, each its own incident."""
    for start in range(0, count, 100):
        alerts = [
            {"labels": {"alertname": "BenchDown", "severity": "critical", "target": f"t{i}"},
             "annotations": {"summary": f"t{i} is down"}}
            for i in range(start, min(start + 100, count))
        ]  # fmt: skip
        async with session.post(url + "/api/v2/alerts", json=alerts, headers=AUTH) as resp:
            assert resp.status == 200, await resp.text()


async def timed(session: aiohttp.ClientSession, url: str, requests: int) -> list[float]:
    """Answer times in milliseconds of ``requests`` GETs of ``url``, one after the other."""
    out = []
    for _ in range(requests):
        started = time.perf_counter()
        async with session.get(url, headers=AUTH) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        out.append((time.perf_counter() - started) * 1000)
    return out


async def run(incidents: int, requests: int) -> None:
    """Start the daemon, fill it, time every route, print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_daemon(Path(tmp))
        url = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.sleep(1.0)
                await open_incidents(session, url, incidents)
                medians = {}
                print(f"{machine()}; load average {os.getloadavg()[0]:.2f}")
                print(f"{incidents} incidents, {requests} requests per route\n")
                print(f"{'route':34} {'median ms':>10} {'p99 ms':>8} {'vs API':>7}")
                for name, path in ROUTES.items():
                    await timed(session, url + path, 5)  # warm up
                    times = await timed(session, url + path, requests)
                    medians[name] = statistics.median(times)
                    ref = REFERENCE.get(name)
                    ratio = f"{medians[name] / medians[ref]:.1f}x" if ref else ""
                    p99 = percentile(times, 0.99)
                    print(f"{name:34} {medians[name]:10.2f} {p99:8.2f} {ratio:>7}")
        finally:
            proc.terminate()
            proc.wait(15)


def main() -> int:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.incidents, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
