"""Benchmark: how responsive a whole aiwatch daemon stays with many targets.

The other benchmarks time one part at a time. This one runs ``aiwatch run`` as a user would:
N ``http`` targets (probed every 15 s) against a local nginx, the bundled
``prometheus/alerts.yml`` evaluated every 15 s over aiwatch's own samples (so the
self-scrape, the rules, the sample snapshot and the probes all share one event loop), the
default 2h retention. After a warm-up it asks ``GET /-/healthy`` every 20 ms for the
measurement window: the answer time is what any HTTP client of aiwatch sees, and its tail
shows how long the event loop was busy with something else. It also prints the daemon's CPU
share (its own process; the rule groups' forked children are not in it), resident memory,
the probes it ran and the probes it skipped, how long the rule groups' evaluations took in
the window (they run in a forked child, so that time is not the loop's) and the machine's
load average.

Run: ``PYTHONPATH=src python bench/daemon_loop.py [--sizes 1000,5000] [--seconds 90]
[--no-rules]``; ``--no-rules`` leaves the rule files out, the floor of the loop's own work.
Each size takes about the window plus a minute; everything listens on loopback ports and
stops by itself.
"""

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from probe_throughput import (
    cpu_seconds,
    free_port,
    machine,
    percentile,
    start_endpoint,
    wait_port,
)

ROOT = Path(__file__).resolve().parent.parent
INTERVAL_S = 15
POLL_S = 0.02


def config(n: int, url: str, storage: Path, *, rules: bool = True) -> str:
    """N http targets, the bundled alert rules (if ``rules``), 15 s probes and evaluations."""
    targets = "".join(f"  - {{name: t{i:05d}, kind: http, url: '{url}'}}\n" for i in range(n))
    rule_files = f"rule_files: ['{ROOT / 'prometheus' / 'alerts.yml'}']\n" if rules else ""
    return (
        f"global:\n  probe_interval: {INTERVAL_S}s\n  evaluation_interval: {INTERVAL_S}s\n"
        f"{rule_files}"
        f"storage:\n  path: '{storage}'\n"
        f"targets:\n{targets}"
    )


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def poll_healthy(base: str, seconds: float) -> list[float]:
    """``GET /-/healthy`` every ``POLL_S`` for ``seconds``: each answer time in seconds."""
    out: list[float] = []
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < deadline:
            started = time.monotonic()
            async with session.get(base + "/-/healthy") as response:
                await response.read()
            out.append(time.monotonic() - started)
            await asyncio.sleep(max(0.0, POLL_S - (time.monotonic() - started)))
    return out


def counter_sum(text: str, name: str) -> float:
    """Sum of every sample of ``name`` in exposition ``text``."""
    pattern = re.compile(rf"^{name}(?:{{[^}}]*}})? (\S+)$", re.MULTILINE)
    return sum(float(v) for v in pattern.findall(text))


async def observe(base: str, pid: int, *, warmup: float, seconds: float) -> dict[str, float]:
    """Wait ``warmup``, then poll ``/-/healthy`` for ``seconds``; the figures of the window."""
    await asyncio.sleep(warmup)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as r:
        before = await r.text()
    answers = await poll_healthy(base, seconds)
    async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as r:
        after = await r.text()
    ms = sorted(a * 1000 for a in answers)

    def grew(name: str) -> float:
        return counter_sum(after, name) - counter_sum(before, name)

    return {
        "p50": percentile(ms, 0.5),
        "p99": percentile(ms, 0.99),
        "p999": percentile(ms, 0.999),
        "max": ms[-1],
        "requests": len(ms),
        "over100": sum(m > 100 for m in ms),
        "cpu": (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before),
        "rss": rss_mb(pid),
        "probes": grew("aiwatch_probes_total"),
        "skipped": grew("aiwatch_probes_skipped_total"),
        "rule_s": grew("aiwatch_rule_evaluation_duration_seconds_sum"),
        "rule_n": grew("aiwatch_rule_evaluation_duration_seconds_count"),
        "load": os.getloadavg()[0],
    }


def measure(
    n: int, url: str, tmp: Path, *, warmup: float, seconds: float, rules: bool = True
) -> str:
    """Start a daemon with ``n`` targets, measure, stop it; one report line."""
    storage = tmp / f"data-{n}"
    storage.mkdir()
    cfg = tmp / f"aiwatch-{n}.yml"
    cfg.write_text(config(n, url, storage, rules=rules))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with (tmp / f"aiwatch-{n}.log").open("w") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "aiwatch", "run", f"--config.file={cfg}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            wait_port(port, seconds=120)
            f = asyncio.run(
                observe(f"http://127.0.0.1:{port}", daemon.pid, warmup=warmup, seconds=seconds)
            )
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(30)
            if daemon.poll() is None:
                os.killpg(daemon.pid, signal.SIGKILL)
    return (
        f"{n:>6,} targets: /-/healthy answer p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms, "
        f"p99.9 {f['p999']:.1f} ms, max {f['max']:.0f} ms ({f['requests']:,.0f} requests, "
        f"{f['over100']:.0f} over 100 ms); CPU {f['cpu']:.0%} of a core; RSS {f['rss']:,.0f} MB; "
        f"{f['probes']:,.0f} probes (expected about {n * seconds / INTERVAL_S:,.0f}), "
        f"{f['skipped']:,.0f} skipped; {f['rule_n']:.0f} group evaluations taking "
        f"{f['rule_s']:.1f} s in all; load average {f['load']:.2f}"
    )


def main() -> None:
    """Measure each size in turn and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--seconds", type=float, default=90.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=40.0, help="seconds before measuring")
    parser.add_argument(
        "--no-rules", action="store_true", help="leave the rule files out (the loop's floor)"
    )
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="aiwatch-daemon-bench-") as name:
        tmp = Path(name)
        endpoint, url, description = start_endpoint(tmp)
        print(f"endpoint: {description}; window {args.seconds:.0f} s after {args.warmup:.0f} s")
        try:
            for n in (int(s) for s in args.sizes.split(",")):
                line = measure(
                    n, url, tmp, warmup=args.warmup, seconds=args.seconds, rules=not args.no_rules
                )
                print(line, flush=True)
        finally:
            endpoint.terminate()
            endpoint.wait(10)


if __name__ == "__main__":
    main()
