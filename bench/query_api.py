"""Benchmark: the bundled dashboards' queries against aiwatch and against Prometheus 2.42.

Every panel query of the three dashboards in ``grafana/dashboards/`` (template variables set
to all their values, as Grafana's "All" sends them) runs as a range query over the last hour
at a 15 s step, POSTed form-encoded as Grafana sends it, against a running aiwatch with N
streaming chat targets (default 100) and against Prometheus holding the same samples. How
the hour of samples is built and loaded into both is ``bench/query_api_data.py``'s docstring.

Prints, for each side, the median and p99 of the answer times of all queries (each query is
asked ``--rounds`` times, the two sides in turn), the ratios aiwatch / Prometheus, the
slowest query, how many queries returned data, and the event loop's lag meanwhile: aiwatch's
``/-/healthy`` answer time, polled every 20 ms while the queries run. Targets: no query over
1 s, ratio at most 3.

Run: ``PYTHONPATH=src python bench/query_api.py [--targets 100] [--rounds 5]``. It takes
about three minutes plus the queries; everything listens on loopback ports and stops by
itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from probe_throughput import free_port, machine, percentile, wait_port
from query_api_data import (
    ROOT,
    config_text,
    load_prometheus,
    openmetrics,
    recorded,
    save_for_aiwatch,
    synthesize,
)

sys.path.insert(0, str(ROOT))
from tests.bundle.grafana import (
    BUILTINS,
    label_values_query,
    load_dashboards,
    panel_queries,
    substitute,
    variable_query,
    variables,
)

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RECORD_S = 25.0
POLL_S = 0.02


def start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A child process in its own session, output to ``log``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it after 60 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def aiwatch_run(config: Path, port: int, storage: Path, log: Path) -> subprocess.Popen[bytes]:
    """``aiwatch run`` on loopback ``port``."""
    argv = [sys.executable, "-m", "aiwatch", "run", f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}", f"--storage.path={storage}",
            "--log.level=warn"]  # fmt: skip
    return start(argv, log)


def wait_ready(url: str, proc: subprocess.Popen[bytes], within: float) -> None:
    """Block until ``url/-/ready`` answers 200."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} exited with {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url + "/-/ready", timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    sys.exit(f"{url} not ready within {within} s")


def prepare(tmp: Path, n: int, mock_url: str, port: int) -> tuple[Path, Path, str]:
    """Record a real daemon, build the hour, load it: the live config, the TSDB, a summary."""
    record_cfg = tmp / "record.yml"
    record_cfg.write_text(config_text(n, mock_url, interval="2s", evaluation="1s"))
    daemon = aiwatch_run(record_cfg, port, tmp / "record-data", tmp / "record.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}", daemon, 120)
        time.sleep(RECORD_S)
    finally:
        stop(daemon)
    series = recorded(tmp / "record-data" / "samples.snapshot")
    end_ms = int(time.time() * 1000) // 15_000 * 15_000
    storage = synthesize(series, end_ms=end_ms)
    size = save_for_aiwatch(storage, tmp / "data")
    samples = openmetrics(storage, tmp / "samples.om")
    started = time.monotonic()
    load_prometheus(PROMTOOL, tmp / "samples.om", tmp / "tsdb")
    blocks_s = time.monotonic() - started
    live_cfg = tmp / "aiwatch.yml"
    live_cfg.write_text(config_text(n, mock_url, interval="15s", evaluation="15s"))
    summary = (
        f"{len(series):,} raw series recorded from the daemon; {storage.series_count():,} series "
        f"and {samples:,} samples over 1 h at 15 s (recorded series included); aiwatch "
        f"snapshot {size / 1e6:.1f} MB; promtool made the blocks in {blocks_s:.0f} s"
    )
    return live_cfg, tmp / "tsdb", summary


@dataclass
class Side:
    """One server's answer times, per query."""

    url: str
    times: dict[str, list[float]] = field(default_factory=dict)
    empty: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


async def variable_values(session: aiohttp.ClientSession, url: str) -> dict[str, dict[str, str]]:
    """Each dashboard's variables, all values selected, from aiwatch's label-values API."""
    out = {}
    for name, dashboard in load_dashboards().items():
        values = dict(BUILTINS)
        for variable in variables(dashboard):
            if variable["type"] != "query":
                continue
            selector, label = label_values_query(substitute(variable_query(variable), values))
            params = {"match[]": selector} if selector else {}
            async with session.get(f"{url}/api/v1/label/{label}/values", params=params) as r:
                found = (await r.json())["data"]
            values[variable["name"]] = "|".join(found) or "none"
        out[name] = values
    return out


def queries(values: dict[str, dict[str, str]]) -> list[str]:
    """Every panel query of every dashboard, variables substituted."""
    out = []
    for name, dashboard in load_dashboards().items():
        out += [substitute(q.expr, values[name]) for q in panel_queries(name, dashboard)]
    return out


async def ask(
    session: aiohttp.ClientSession, side: Side, expr: str, window: dict[str, str]
) -> None:
    """One range query, POSTed form-encoded; its answer time."""
    started = time.perf_counter()
    async with session.post(side.url + "/api/v1/query_range", data={**window, "query": expr}) as r:
        body = await r.json()
    side.times.setdefault(expr, []).append(time.perf_counter() - started)
    if r.status != 200:
        side.failed[expr] = f"{r.status} {body.get('errorType')}: {body.get('error')}"
    elif not body["data"]["result"]:
        side.empty.add(expr)


async def poll_healthy(url: str, done: asyncio.Event) -> list[float]:
    """``GET /-/healthy`` every ``POLL_S`` until ``done``: each answer time in seconds."""
    out: list[float] = []
    async with aiohttp.ClientSession() as session:
        while not done.is_set():
            started = time.monotonic()
            async with session.get(url + "/-/healthy") as response:
                await response.read()
            out.append(time.monotonic() - started)
            await asyncio.sleep(max(0.0, POLL_S - (time.monotonic() - started)))
    return out


async def run_queries(aiwatch: Side, prometheus: Side, rounds: int, end_s: float) -> list[float]:
    """Every query ``rounds`` times on each side in turn; ``/-/healthy`` times meanwhile."""
    window = {"start": f"{end_s - 3600:.3f}", "end": f"{end_s:.3f}", "step": "15"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        exprs = queries(await variable_values(session, aiwatch.url))
        done = asyncio.Event()
        poller = asyncio.create_task(poll_healthy(aiwatch.url, done))
        for _ in range(rounds):
            for expr in exprs:
                await ask(session, aiwatch, expr, window)
                await ask(session, prometheus, expr, window)
        done.set()
        return await poller


def report(aiwatch: Side, prometheus: Side, healthy: list[float]) -> list[str]:
    """The figures, one line each."""
    lines = []
    for name, side in (("aiwatch", aiwatch), ("Prometheus", prometheus)):
        every = sorted(t for ts in side.times.values() for t in ts)
        lines.append(
            f"{name:>10}: {len(side.times)} queries x {len(every) // len(side.times)} rounds; "
            f"median {statistics.median(every) * 1000:.1f} ms, p99 "
            f"{percentile(every, 0.99) * 1000:.1f} ms, max {every[-1] * 1000:.0f} ms; "
            f"{len(side.times) - len(side.empty) - len(side.failed)} returned data, "
            f"{len(side.failed)} failed"
        )
        lines += [f"    failed: {e}: {why}" for e, why in side.failed.items()]
    ours = sorted(t for ts in aiwatch.times.values() for t in ts)
    theirs = sorted(t for ts in prometheus.times.values() for t in ts)
    lines.append(
        f"     ratio: median {statistics.median(ours) / statistics.median(theirs):.2f}, "
        f"p99 {percentile(ours, 0.99) / percentile(theirs, 0.99):.2f} (aiwatch / Prometheus)"
    )
    slowest = max(aiwatch.times, key=lambda e: statistics.median(aiwatch.times[e]))
    ratio = statistics.median(aiwatch.times[slowest]) / statistics.median(prometheus.times[slowest])
    lines.append(
        f"   slowest: {statistics.median(aiwatch.times[slowest]) * 1000:.0f} ms median at "
        f"aiwatch ({ratio:.1f}x Prometheus): {slowest}"
    )
    by_median = sorted(aiwatch.times, key=lambda e: -statistics.median(aiwatch.times[e]))
    for expr in by_median[1:5]:
        ours_ms = statistics.median(aiwatch.times[expr]) * 1000
        theirs_ms = statistics.median(prometheus.times[expr]) * 1000
        lines.append(f"      next: {ours_ms:.0f} ms vs {theirs_ms:.0f} ms: {expr[:110]}")
    over = sum(max(ts) > 1 for ts in aiwatch.times.values())
    lines.append(f"  over 1 s: {over} queries at aiwatch (any round)")
    ms = sorted(h * 1000 for h in healthy)
    lines.append(
        f"/-/healthy during the queries: p50 {percentile(ms, 0.5):.1f} ms, p99 "
        f"{percentile(ms, 0.99):.1f} ms, max {ms[-1]:.0f} ms ({len(ms):,} requests); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return lines


def measure(tmp: Path, n: int, rounds: int) -> None:
    """Build the data, start both servers, run the queries, print the report."""
    mock_port, port, prom_port = free_port(), free_port(), free_port()
    mock = start([sys.executable, "-m", "aiwatch", "mock-ai", "--listen-address",
                  f"127.0.0.1:{mock_port}"], tmp / "mock.log")  # fmt: skip
    procs = [mock]
    try:
        wait_port(mock_port, seconds=60)
        live_cfg, tsdb, summary = prepare(tmp, n, f"http://127.0.0.1:{mock_port}", port)
        print(summary, flush=True)
        (tmp / "prometheus.yml").write_text("global: {}\n")
        procs.append(
            start([PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
                   f"--storage.tsdb.path={tsdb}", "--storage.tsdb.retention.time=30d",
                   f"--web.listen-address=127.0.0.1:{prom_port}"], tmp / "prometheus.log")
        )  # fmt: skip
        procs.append(aiwatch_run(live_cfg, port, tmp / "data", tmp / "aiwatch.log"))
        prom_url, url = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{port}"
        wait_ready(prom_url, procs[1], 120)
        wait_ready(url, procs[2], 120)
        time.sleep(20)  # the first probes and rule evaluations of the live daemon
        end_s = time.time()
        aiwatch, prometheus = Side(url), Side(prom_url)
        healthy = asyncio.run(run_queries(aiwatch, prometheus, rounds, end_s))
        for line in report(aiwatch, prometheus, healthy):
            print(line, flush=True)
    finally:
        for proc in reversed(procs):
            stop(proc)


def main() -> None:
    """Parse the arguments and measure once."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    print(machine())
    print(f"{args.targets} streaming chat targets; load average {os.getloadavg()[0]:.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="aiwatch-query-bench-"))
    try:
        measure(tmp, args.targets, args.rounds)
    finally:
        if args.keep:
            print(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
