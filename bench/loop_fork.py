"""Benchmark: how late the event loop runs while a rule group evaluates, in a thread or a child.

Like ``bench/loop_pacing.py`` this isolates the rules' share of the loop's lateness: N
``http`` targets' samples are stored as the self-scrape stores them, then one group with the
bundled ``AIEndpointLatencyHigh`` expression (a ``histogram_quantile`` over every duration
bucket series) is evaluated by a ``RuleManager`` exactly as the daemon evaluates it, while the
loop does 2 ms of work every 10 ms (as probe callbacks would) and a 5 ms sleeper measures how
late it wakes. Trials alternate between the worker thread (``QueryRunner(fork=False)``) and a
forked child per evaluation (``fork=True``, the default on Linux), so both see the same
machine. It prints each trial, the medians and the CPU time the daemon's own process spent
(a child's CPU is not the loop's), with the load average.

Run: ``PYTHONPATH=src python bench/loop_fork.py [--targets 2000] [--steps 25] [--rounds 5]``.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time

from aiwatch.promql.limits import QueryLimits
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.manager import ManagerOptions, RuleManager
from aiwatch.rules.model import GroupSpec, RuleSpec
from aiwatch.rules.query import LocalQuery
from loop_pacing import RULE, busy_loop, fill
from probe_throughput import machine

Row = tuple[float, float, float, float, float]


async def trial(store: MemoryStorage, t_ms: int, *, fork: bool) -> tuple[float, float, list[float]]:
    """One group evaluation while the loop works: wall time, this process's CPU, lateness."""
    runner = QueryRunner(QueryLimits(timeout_s=120), fork=fork)
    query = LocalQuery(store, runner=runner)
    spec = GroupSpec(
        name="bench",
        file="alerts.yml",
        rules=(RuleSpec(kind="alert", name="AIEndpointLatencyHigh", expr=RULE),),
        interval_s=15.0,
    )
    manager = RuleManager([spec], query=query, appender=store, options=ManagerOptions())
    try:
        async with busy_loop() as late:
            started, cpu = time.perf_counter(), time.process_time()
            await manager.evaluate_group(manager.groups[0], t_ms)
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        runner.close()
    rule = manager.groups[0].rules[0]
    assert rule.health == "ok", rule.last_error
    return took, cpu, late


def main() -> None:
    """Fill the store, then alternate thread and fork trials; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.setswitchinterval(0.0001)  # as `aiwatch run` sets it
    end_ms = int(time.time()) // 15 * 15_000
    store = fill(args.targets, args.steps, end_ms)
    print(machine(), f"{args.targets:,} http targets, {store.series_count():,} series")
    figures: dict[bool, list[Row]] = {False: [], True: []}
    for _ in range(args.rounds):
        for fork in (False, True):
            took, cpu, late = asyncio.run(trial(store, end_ms, fork=fork))
            row = (took, cpu, late[len(late) // 2], late[int(len(late) * 0.99)], late[-1])
            figures[fork].append(row)
            print(
                f"  {'fork  ' if fork else 'thread'}: group {took:.2f} s, loop process CPU "
                f"{cpu:.2f} s; loop late p50 {row[2]:.1f} ms, p99 {row[3]:.1f} ms, max "
                f"{row[4]:.0f} ms; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for fork in (False, True):
        med = [statistics.median(c) for c in zip(*figures[fork], strict=True)]
        print(
            f"median, {'fork  ' if fork else 'thread'}: group {med[0]:.2f} s, loop process "
            f"CPU {med[1]:.2f} s; loop late p50 {med[2]:.1f} ms, p99 {med[3]:.1f} ms, "
            f"max {med[4]:.0f} ms"
        )


if __name__ == "__main__":
    main()
