"""Benchmark: 50 targets at a 1 s interval for 10 minutes — no drift, no probe past its timeout.

The scheduler (with the real probes) runs in this process against ``aiwatch mock-ai`` started
as a separate process. A fifth of the targets answer only after 3 s, past their 0.5 s timeout,
so the timeout bound is exercised all along. At the end it prints, per target, the probes
expected (elapsed / interval) and run, the phase error of the last probe against the
target's wall-clock grid, and the longest probe duration seen, then a one-line verdict.

Run: ``PYTHONPATH=src python bench/drift.py [--targets 50] [--interval 1] [--seconds 600]``.
"""

import argparse
import asyncio
import contextlib
import json
import math
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from aiwatch.config import load_config
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.scheduler import Scheduler, offset_of
from aiwatch.probes.series import ProbeSeries

TIMEOUT = 0.5


async def start_mock() -> tuple[asyncio.subprocess.Process, str]:
    """``aiwatch mock-ai`` on a free loopback port; its base URL once it listens."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiwatch",
        "mock-ai",
        "--listen-address",
        "127.0.0.1:0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await proc.stdout.readline()).decode()
    return proc, line.rsplit(" ", 1)[-1].strip()


def slow_models(url: str, names: list[str]) -> None:
    """Make these models answer after 3 s (past the timeout)."""
    for name in names:
        request = urllib.request.Request(
            url.removesuffix("/v1") + f"/_mock/behavior?model={name}",
            data=json.dumps({"latency": 3.0}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5):
            pass


async def main(*, targets: int, interval: float, seconds: float) -> int:
    """Run the schedule and print the per-target figures and the verdict; 0 if all held."""
    proc, url = await start_mock()
    try:
        names = [f"drift-{i:03d}" for i in range(targets)]
        slow = names[::5]
        slow_models(url, slow)
        docs = [
            {
                "name": n,
                "kind": "openai_chat",
                "url": url,
                "model": n,
                "interval": f"{int(interval * 1000)}ms",
                "timeout": f"{int(TIMEOUT * 1000)}ms",
            }
            for n in names
        ]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "aiwatch.yml"
            path.write_text(yaml.safe_dump({"targets": docs}))
            config = load_config(str(path))
        series = ProbeSeries()
        scheduler = Scheduler(series=series, record_lag=True)
        await scheduler.update(config.targets)
        longest: dict[str, float] = dict.fromkeys(names, 0.0)
        originals = {n: series.targets[n].observe for n in names}

        def watch(name: str) -> None:
            def observe(result: ProbeResult) -> None:
                longest[name] = max(longest[name], result.duration)
                originals[name](result)

            series.targets[name].observe = observe  # type: ignore[method-assign]

        for name in names:
            watch(name)
        started = time.monotonic()
        scheduler.start()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        rows = []
        for name in names:
            entry, s = scheduler.entries[name], series.targets[name]
            running = int(entry.running)
            ran = s.probes["success"] + s.probes["failure"] + running
            expected = elapsed / interval
            last = entry.last
            assert last is not None
            phase = (last.started_at - offset_of(name, interval)) % interval
            rows.append(
                (name, expected, ran, s.skipped, min(phase, interval - phase), longest[name])
            )
        await scheduler.stop()
    finally:
        proc.terminate()
        with contextlib.suppress(ProcessLookupError):
            await proc.wait()
    print(f"{targets} targets, interval {interval:g}s, timeout {TIMEOUT:g}s, {elapsed:.1f}s run")
    print(
        f"{'target':<12} {'expected':>9} {'ran':>6} {'skipped':>7} {'phase err':>10} {'max dur':>8}"
    )
    for name, expected, ran, skipped, phase, dur in rows:
        print(f"{name:<12} {expected:9.1f} {ran:6d} {skipped:7d} {phase * 1000:8.1f}ms {dur:7.3f}s")
    off = [r for r in rows if abs(r[2] - r[1]) > 1]
    late = [r for r in rows if r[5] > TIMEOUT + 0.05]
    lags = sorted(scheduler.lags or [0.0])
    p99 = lags[min(len(lags) - 1, math.floor(len(lags) * 0.99))]
    print(f"scheduling lag: median {lags[len(lags) // 2] * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    print(f"max phase error {max(r[4] for r in rows) * 1000:.1f} ms")
    print(f"targets off by more than 1 probe: {len(off)}; probes past timeout + 50 ms: {len(late)}")
    print("VERDICT:", "no drift, timeouts held" if not off and not late else "FAILED")
    return 0 if not off and not late else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(targets=args.targets, interval=args.interval, seconds=args.seconds)))
