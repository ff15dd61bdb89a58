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
[--no-rules] [--diag]``; ``--no-rules`` leaves the rule files out, the floor of the loop's
own work; ``--diag`` loads ``loop_hooks.py`` into the daemon and prints, for the window, its
garbage collections by generation and its loop callbacks over 15 ms, in wall and in CPU time
(the CPU figures hold on a busy machine, where the wall times do not).
Each size takes about the window plus a minute; everything listens on loopback ports and
stops by itself.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
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
LONG_MS = 15


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


def hooked_env(tmp: Path, n: int) -> tuple[dict[str, str], Path]:
    """The daemon's environment with ``loop_hooks`` as its ``sitecustomize``; their output."""
    hooks = tmp / f"hooks-{n}"
    hooks.mkdir()
    shutil.copy(Path(__file__).with_name("loop_hooks.py"), hooks / "sitecustomize.py")
    out = tmp / f"hooks-{n}.json"
    path = f"{hooks}{os.pathsep}{ROOT / 'src'}"
    return {**os.environ, "PYTHONPATH": path, "AIWATCH_LOOP_HOOKS": str(out)}, out


def _spread(values: list[float]) -> str:
    """``n, p50/p99/max ms`` of durations in seconds."""
    if not values:
        return "none"
    ms = sorted(v * 1000 for v in values)
    return f"{len(ms)}, {percentile(ms, 0.5):.1f} / {percentile(ms, 0.99):.1f} / {ms[-1]:.1f} ms"


def diag_lines(out: Path, start: float, end: float) -> list[str]:
    """The collections and long callbacks of the window, from the hooks' output."""
    events = [e for e in json.loads(out.read_text()) if start <= e[0] <= end]
    lines = []
    for generation, what in (("0", "young"), ("1", "middle"), ("2", "full")):
        found = [e for e in events if e[1] == "gc" and e[2] == generation]
        lines.append(
            f"  {what} collections (n, p50 / p99 / max): wall {_spread([e[3] for e in found])}; "
            f"CPU {_spread([e[4] for e in found])}"
        )
    long = [e for e in events if e[1] == "callback"]
    lines.append(
        f"  callbacks over {LONG_MS} ms of wall time: {len(long)}; of CPU time: "
        f"{sum(e[4] * 1000 > LONG_MS for e in long)}, over 30 ms: "
        f"{sum(e[4] > 0.03 for e in long)}"
    )
    turns = [e[4] for e in events if e[1] == "iteration"]
    lines.append(
        f"  loop turns over {LONG_MS} ms of CPU (all ready callbacks): {len(turns)}, over 30 ms: "
        f"{sum(t > 0.03 for t in turns)}, over 50 ms: {sum(t > 0.05 for t in turns)}"
    )
    slowest = sorted(long, key=lambda e: -e[4])[:5]
    lines += [f"    {e[4] * 1000:.0f} ms CPU ({e[3] * 1000:.0f} ms wall): {e[2]}" for e in slowest]
    return lines


def measure(
    n: int,
    url: str,
    tmp: Path,
    *,
    warmup: float,
    seconds: float,
    rules: bool = True,
    diag: bool = False,
) -> str:
    """Start a daemon with ``n`` targets, measure, stop it; the report lines."""
    storage = tmp / f"data-{n}"
    storage.mkdir()
    cfg = tmp / f"aiwatch-{n}.yml"
    cfg.write_text(config(n, url, storage, rules=rules))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    hooks_out = tmp / "no-hooks"
    if diag:
        env, hooks_out = hooked_env(tmp, n)
    with (tmp / f"aiwatch-{n}.log").open("w") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "aiwatch", "run", f"--config.file={cfg}",
             f"--web.listen-address=127.0.0.1:{port}",
             f"--log.level={'info' if diag else 'warn'}"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            wait_port(port, seconds=120)
            window_end = time.time() + warmup + seconds
            f = asyncio.run(
                observe(f"http://127.0.0.1:{port}", daemon.pid, warmup=warmup, seconds=seconds)
            )
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(30)
            if daemon.poll() is None:
                os.killpg(daemon.pid, signal.SIGKILL)
    line = (
        f"{n:>6,} targets: /-/healthy answer p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms, "
        f"p99.9 {f['p999']:.1f} ms, max {f['max']:.0f} ms ({f['requests']:,.0f} requests, "
        f"{f['over100']:.0f} over 100 ms); CPU {f['cpu']:.0%} of a core; RSS {f['rss']:,.0f} MB; "
        f"{f['probes']:,.0f} probes (expected about {n * seconds / INTERVAL_S:,.0f}), "
        f"{f['skipped']:,.0f} skipped; {f['rule_n']:.0f} group evaluations taking "
        f"{f['rule_s']:.1f} s in all; load average {f['load']:.2f}"
    )
    if not diag:
        return line
    # Errors after the window are the shutdown's: SIGTERM reaches a running rule child too.
    noted = [
        entry
        for entry in (tmp / f"aiwatch-{n}.log").read_text().splitlines()
        if "Rules start on fresh samples" in entry
        or ("level=error" in entry and log_time(entry) <= window_end)
    ]
    lines = diag_lines(hooks_out, window_end - seconds, window_end)
    return "\n".join([line, *lines, *(f"  daemon: {entry}" for entry in noted[:5])])


def log_time(entry: str) -> float:
    """The Unix time of a daemon log line (``ts=2026-01-02T03:04:05.678Z``)."""
    stamp = entry.split(" ", 1)[0].removeprefix("ts=").replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def main() -> None:
    """Measure each size in turn and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--seconds", type=float, default=90.0, help="measurement window")
    parser.add_argument("--warmup", type=float, default=40.0, help="seconds before measuring")
    parser.add_argument(
        "--no-rules", action="store_true", help="leave the rule files out (the loop's floor)"
    )
    parser.add_argument(
        "--diag",
        action="store_true",
        help="also time the daemon's garbage collections and long loop callbacks (wall and CPU)",
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
                    n,
                    url,
                    tmp,
                    warmup=args.warmup,
                    seconds=args.seconds,
                    rules=not args.no_rules,
                    diag=args.diag,
                )
                print(line, flush=True)
        finally:
            endpoint.terminate()
            endpoint.wait(10)


if __name__ == "__main__":
    main()
