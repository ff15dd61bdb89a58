"""Benchmark: how late the event loop runs while a big rule query computes in its worker.

``bench/daemon_loop.py`` measures the whole daemon, whose tail on a shared machine is
mostly the machine's. This one isolates the query's share: N ``http`` targets' samples are
stored as the self-scrape stores them (a real ``ProbeSeries`` and ``SelfScraper``, STEPS
scrapes 15 s apart), then the bundled ``AIEndpointLatencyHigh`` expression (a
``histogram_quantile`` over every duration bucket series) runs in a ``QueryRunner`` worker
while the loop does 2 ms of work every 10 ms (as probe callbacks would) and a 5 ms sleeper
measures how late it wakes. Trials alternate between the worker pacing itself
(``promql.pacing``, as the daemon runs) and not pacing (``give_way`` made a no-op), so both
see the same machine; it prints each trial and the medians, with the load average.

Run: ``PYTHONPATH=src python bench/loop_pacing.py [--targets 2000] [--steps 25] [--rounds 5]``.
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiwatch.config.load import load_config
from aiwatch.probes.result import Check, ProbeResult
from aiwatch.probes.series import ProbeSeries
from aiwatch.promql import aggregations, calls, functions, pacing, parse, storage
from aiwatch.promql.limits import QueryLimits
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import MemoryStorage
from aiwatch.promql.syntax import Expr
from aiwatch.selfscrape import SelfScraper
from probe_throughput import machine

RULE = (
    "histogram_quantile(0.95, sum without (instance, job) "
    "(rate(aiwatch_probe_duration_seconds_bucket[5m]))) > 10"
)
STEP_MS = 15_000


def fill(n: int, steps: int, end_ms: int) -> MemoryStorage:
    """The samples of ``n`` http targets, ``steps`` self-scrapes ending at ``end_ms``."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "aiwatch.yml"
        cfg.write_text(
            "targets:\n"
            + "".join(
                f"  - {{name: t{i:05d}, kind: http, url: 'http://127.0.0.1:9/'}}\n"
                for i in range(n)
            )
        )
        targets = load_config(str(cfg)).targets
    probes = ProbeSeries()
    for target in targets:
        probes.ensure(target)
    store = MemoryStorage()
    scraper = SelfScraper(
        store, probes.sample_batches, instance="localhost:9531", retention_ms=7_200_000
    )
    rng = random.Random(1)
    for step in range(steps):
        t_ms = end_ms - (steps - 1 - step) * STEP_MS
        for target in targets:
            d = rng.lognormvariate(-3, 0.5)
            probes.observe(result(target.name, t_ms / 1000 - 1, d))
        scraper.scrape(t_ms)
    return store


def result(target: str, started: float, duration: float) -> ProbeResult:
    """A successful http probe result."""
    return ProbeResult(
        target=target, success=True, error_type=None, error=None, status_code=200,
        duration=duration, time_to_first_byte=duration / 2, time_to_first_token=None,
        time_per_output_token=None, input_tokens=None, output_tokens=None, cost_usd=None,
        ratelimit_remaining_requests=None, ratelimit_remaining_tokens=None,
        response_model=None, system_fingerprint=None, embedding_dimensions=None,
        checks=(Check("status", True, "200"),), started_at=started,
        finished_at=started + duration, request_summary="GET /", response_excerpt="",
    )  # fmt: skip


def set_pacing(*, on: bool) -> None:
    """Make the evaluator's per-series loops pace themselves, or not."""
    give_way = pacing.give_way if on else (lambda: None)
    for module in (storage, calls, aggregations, functions):
        module.give_way = give_way  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def busy_loop() -> AsyncIterator[list[float]]:
    """While the body runs, the loop works 2 ms every 10 ms and a 5 ms sleeper notes how
    late it wakes (ms); yields that list, sorted once the body is done."""
    late: list[float] = []
    done = False

    async def busy() -> None:
        while not done:
            started = time.perf_counter()
            while time.perf_counter() - started < 0.002:
                pass
            await asyncio.sleep(0.008)

    async def sleeper() -> None:
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            late.append((time.perf_counter() - started - 0.005) * 1000)

    tasks = [asyncio.create_task(busy()), asyncio.create_task(sleeper())]
    try:
        yield late
    finally:
        done = True
        await asyncio.gather(*tasks)
        late.sort()


async def trial(expr: Expr, store: MemoryStorage, t_ms: int) -> tuple[float, list[float]]:
    """Run the query in a worker while the loop works; its time and the loop's lateness."""
    runner = QueryRunner(QueryLimits(timeout_s=120))
    try:
        async with busy_loop() as late:
            started = time.perf_counter()
            await runner.query(expr, store, t_ms, lane="rules")
            took = time.perf_counter() - started
    finally:
        runner.close()
    return took, late


def main() -> None:
    """Fill the store, then alternate trials without and with pacing; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.setswitchinterval(0.0001)  # as `aiwatch run` sets it
    end_ms = int(time.time()) // 15 * STEP_MS
    store = fill(args.targets, args.steps, end_ms)
    print(machine(), f"{args.targets:,} http targets, {store.series_count():,} series")
    expr = parse(RULE)
    figures: dict[bool, list[tuple[float, float, float, float]]] = {False: [], True: []}
    for _ in range(args.rounds):
        for on in (False, True):
            set_pacing(on=on)
            took, late = asyncio.run(trial(expr, store, end_ms))
            row = (took, late[len(late) // 2], late[int(len(late) * 0.99)], late[-1])
            figures[on].append(row)
            print(
                f"  pacing {'on ' if on else 'off'}: query {took:.2f} s; loop late p50 "
                f"{row[1]:.1f} ms, p99 {row[2]:.1f} ms, max {row[3]:.0f} ms; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for on in (False, True):
        cols = list(zip(*figures[on], strict=True))
        med = [statistics.median(c) for c in cols]
        print(
            f"median, pacing {'on ' if on else 'off'}: query {med[0]:.2f} s; loop late p50 "
            f"{med[1]:.1f} ms, p99 {med[2]:.1f} ms, max {med[3]:.0f} ms"
        )


if __name__ == "__main__":
    main()
