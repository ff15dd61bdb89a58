"""Benchmark: 1,000 rules over 10,000 series, aiwatch's rule manager against a real Prometheus.

The series come from ``rule_eval_data`` (aiwatch's probe series for 400
targets, one hour at 15 s), the rule file from ``rule_eval_rules`` (41 groups, 509 recording
and 491 alerting rules; Prometheus is driven by ``rule_eval_prometheus``). The rule file
is checked with ``promtool check rules``.

Prometheus (``prometheus`` from PATH, loopback ports, temporary TSDB, evaluation interval
5 s) gets the same series in one of two ways: ``scrape`` (default) serves them from a
loopback exporter, one 15 s step per 250 ms scrape with explicit timestamps, so they sit in
the head block as in a running server; ``backfill`` writes them into a persisted block with
``promtool tsdb create-blocks-from openmetrics`` before start. Evaluations that start 65 s or
more after the data's newest sample (after the warm-up ones) count:
``prometheus_rule_group_last_duration_seconds`` is read from its ``/metrics`` after each.
A cycle's time is the sum over the groups of one evaluation each (Prometheus runs groups
concurrently, so on a busy machine that sum includes waiting for a core; its CPU per cycle,
from ``process_cpu_seconds_total``, does not).

aiwatch: the same series in a ``MemoryStorage``, the same file loaded by ``load_groups`` into
a ``RuleManager``, and full cycles (every group, in file order) with each group at the slot
at which the first Prometheus run evaluated it, as long after the data's end, so both see
the same samples in every window. Like Prometheus' first evaluations, one warm-up cycle an
interval earlier is not timed (its time is printed). The pending and firing alerts of the
last cycle are compared by rule. It prints the median and p90 per cycle (wall and CPU), memory
(tracemalloc peak and RSS growth of the store and of a cycle) and the ratios aiwatch ÷
Prometheus. The whole run stops by itself within minutes (about 3 with ``scrape``).

Run: ``PYTHONPATH=src python bench/rule_eval.py [--cycles 8] [--feed scrape,backfill]``
(``--feed`` also takes ``scrape``, ``backfill`` or ``none``; ``--gc-freeze`` freezes the
heap after aiwatch's store is filled).
"""

import argparse
import asyncio
import gc
import math
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.files import load_groups
from aiwatch.rules.group import Group
from aiwatch.rules.manager import ManagerOptions, RuleManager
from aiwatch.rules.query import LocalQuery
from probe_throughput import machine
from rule_eval_data import HISTORY_S, SERIES, STEP_S, Data, make_data
from rule_eval_prometheus import (
    INTERVAL_S,
    READY_AFTER_S,
    WARMUP_EVALUATIONS,
    PromRun,
    promtool_check,
    run_prometheus,
)
from rule_eval_rules import rule_file


def rss_mb(field_name: str = "VmRSS") -> float:
    """This process' resident (``VmRSS``) or peak resident (``VmHWM``) memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def p90(values: list[float]) -> float:
    """The 0.9 quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass
class AiwatchRun:
    """What the aiwatch run measured."""

    cycles_s: list[float]
    cycles_cpu_s: list[float]
    warmup_s: float
    fill_s: float
    store_peak_mb: float
    store_rss_mb: float
    cycle_peak_mb: float
    cycle_rss_mb: float
    series: int
    samples: int
    rule_errors: int
    alerts: Counter[str]
    alert_labels: set[tuple[tuple[str, str], ...]]


def fill(data: Data) -> MemoryStorage:
    """A store holding every sample, appended scrape by scrape as a scraper would."""
    storage = MemoryStorage()
    for i, t_ms in enumerate(data.times_ms):
        for s in data.series:
            storage.append(s.labels, t_ms, s.values[i])
    return storage


async def run_aiwatch(
    rules: Path, schedule: Callable[[Group, int], list[int]], *, gc_freeze: bool
) -> AiwatchRun:
    """Fill a store with data ending now, then evaluate full cycles.

    ``schedule(group, data_end_ms)`` says when each cycle evaluates that group; the last
    cycle is not timed but traced. ``gc_freeze``: move everything alive after the fill out
    of the garbage collector's reach (``gc.freeze``), to see what its full collections cost.
    """
    end_ms = int(time.time()) // STEP_S * STEP_S * 1000
    data = make_data(end_ms=end_ms)
    rss_before = rss_mb()
    tracemalloc.start()
    started = time.perf_counter()
    storage = fill(data)
    fill_s = time.perf_counter() - started
    del data  # a daemon holds no second copy of its samples in Python lists
    store_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    store_rss = rss_mb() - rss_before
    if gc_freeze:
        gc.freeze()

    manager = RuleManager(
        load_groups([str(rules)]),
        query=LocalQuery(storage, subquery_step_ms=INTERVAL_S * 1000),
        appender=storage,
        options=ManagerOptions(evaluation_interval_s=INTERVAL_S),
    )
    manager.restore()  # no saved state: this only starts writing ALERTS series

    times = {g.key: schedule(g, end_ms) for g in manager.groups}
    count = min(len(t) for t in times.values())

    async def cycle(k: int) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        for group in manager.groups:
            at = times[group.key][k] if k >= 0 else times[group.key][0] - INTERVAL_S * 1000
            await manager.evaluate_group(group, at)
        return time.perf_counter() - started, time.process_time() - cpu

    rss_before = rss_mb()
    # One warm-up cycle an interval before the first timed one, as Prometheus' first
    # evaluations are not counted either: it creates the recorded series and ALERTS.
    warmup_s, _ = await cycle(-1)
    cycles = [await cycle(k) for k in range(count - 1)]
    # One more cycle with tracemalloc on (slower, so not timed): what a cycle allocates. It
    # also evaluates a group again where Prometheus did before its alerts were read.
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    await cycle(count - 1)
    for group in manager.groups:
        for t_ms in times[group.key][count:]:
            await manager.evaluate_group(group, t_ms)
    cycle_peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    cycle_rss = (rss_mb() - rss_before) / count
    return AiwatchRun(
        cycles_s=[wall for wall, _ in cycles],
        warmup_s=warmup_s,
        cycles_cpu_s=[cpu for _, cpu in cycles],
        fill_s=fill_s,
        store_peak_mb=store_peak,
        store_rss_mb=store_rss,
        cycle_peak_mb=cycle_peak,
        cycle_rss_mb=cycle_rss,
        series=storage.series_count(),
        samples=storage.sample_count(),
        rule_errors=sum(r.health != "ok" for g in manager.groups for r in g.rules),
        alerts=Counter(a.labels["alertname"].rstrip("0123456789") for a in manager.active_alerts()),
        alert_labels={tuple(sorted(a.labels.items())) for a in manager.active_alerts()},
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _summary(values: list[float]) -> str:
    return f"median {_ms(statistics.median(values))}, p90 {_ms(p90(values))}"


def report(ours: AiwatchRun, proms: dict[str, PromRun], *, followed: PromRun | None) -> None:
    """Print the figures and the ratios; alerts compare with the run aiwatch followed."""
    med, cpu = statistics.median(ours.cycles_s), statistics.median(ours.cycles_cpu_s)
    print()
    print(f"aiwatch: store {ours.series:,} series, {ours.samples:,} samples after the run")
    print(
        f"  fill {ours.fill_s:.1f} s (tracemalloc on); store: tracemalloc peak "
        f"{ours.store_peak_mb:.0f} MB, RSS +{ours.store_rss_mb:.0f} MB"
    )
    print(
        f"  cycle: wall {_summary(ours.cycles_s)} (min {_ms(min(ours.cycles_s))}, max "
        f"{_ms(max(ours.cycles_s))}); CPU {_summary(ours.cycles_cpu_s)}; "
        f"{len(ours.cycles_s)} cycles (after an untimed warm-up cycle: {_ms(ours.warmup_s)})"
    )
    print(
        f"  one cycle allocates (tracemalloc peak) {ours.cycle_peak_mb:.1f} MB; "
        f"RSS growth per cycle {ours.cycle_rss_mb:+.1f} MB (recorded series and ALERTS)"
    )
    print(f"  rule errors {ours.rule_errors}, pending + firing alerts {ours.alerts.total()}")
    print(f"  target, every cycle under 1 s: {'met' if max(ours.cycles_s) < 1 else 'MISSED'}")
    for feed, prom in proms.items():
        if not prom.cycles_s:
            print(f"Prometheus ({feed}): no figures ({prom.note.strip()})")
            continue
        print(
            f"Prometheus 2.42, data by {feed} ({prom.feed_s:.0f} s), {prom.groups} groups: "
            f"cycle (sum of group durations) {_summary(prom.cycles_s)}, "
            f"{len(prom.cycles_s)} cycles; CPU per cycle {_ms(prom.cpu_per_cycle_s)}; "
            f"RSS {prom.rss_mb:.0f} MB"
        )
        print(
            f"  rule errors {prom.rule_errors}, pending + firing alerts {prom.alerts.total()}"
            f" {prom.note}"
        )
        if prom is not followed:
            print("  (evaluated at other times than aiwatch: alerts not compared)")
        differ = {
            name: (ours.alerts[name], prom.alerts[name])
            for name in ours.alerts | prom.alerts
            if ours.alerts[name] != prom.alerts[name]
        }
        if prom is followed:
            print(f"  alerts by rule (digits dropped) where aiwatch, Prometheus differ: {differ}")
            for side, extra in (
                ("only aiwatch", ours.alert_labels - prom.alert_labels),
                ("only Prometheus", prom.alert_labels - ours.alert_labels),
            ):
                for labels in sorted(extra)[:3]:
                    print(f"    {side}: {dict(labels)}")
        print(
            f"  ratio aiwatch / Prometheus: wall {med / statistics.median(prom.cycles_s):.2f}, "
            f"CPU {cpu / prom.cpu_per_cycle_s:.2f}"
        )


def main() -> None:
    """Generate, check, run Prometheus, run aiwatch, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=8, help="timed cycles per engine")
    parser.add_argument(
        "--feed",
        default="scrape",
        help="how Prometheus gets the data: scrape, backfill, both (scrape,backfill) or none",
    )
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after filling aiwatch's store"
    )
    args = parser.parse_args()
    print(machine(), "(aiwatch with gc.freeze() after the fill)" if args.gc_freeze else "")
    text, rule_count = rule_file()
    feeds = [f for f in args.feed.split(",") if f in ("scrape", "backfill")]
    with tempfile.TemporaryDirectory(prefix="aiwatch-rule-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rules = tmp / "rules.yml"
        rules.write_text(text)
        steps = HISTORY_S // STEP_S + 1
        print(f"{SERIES:,} series × {steps} samples ({STEP_S} s apart), {rule_count} rules")
        have_prometheus = shutil.which("prometheus") and shutil.which("promtool")
        print("promtool check rules:", promtool_check(rules) if have_prometheus else "absent")
        proms = {}
        for feed in feeds if have_prometheus else []:
            proms[feed] = run_prometheus(
                rules, tmp, feed=feed, evaluations=WARMUP_EVALUATIONS + args.cycles + 1
            )
        measured = next((p for p in proms.values() if p.eval_times_s), None)
        step_ms = INTERVAL_S * 1000
        unmatched: list[str] = []

        def schedule(group: Group, end_ms: int) -> list[int]:
            # Each group at the slot Prometheus evaluated it in (its hashed offset in the
            # interval), as far after the data's end; aiwatch's last, traced cycle is
            # Prometheus' last, so their alerts compare.
            if measured is not None and group.key in measured.eval_times_s:
                prom_end_ms = round(measured.data_end_s * 1000)
                prom_times = list(measured.eval_times_s[group.key])
                final = measured.final_eval_s.get(group.key)
                if final is not None and final > prom_times[-1]:
                    prom_times.append(final)  # it ran once more before the alerts were read
                # Up, not to the nearest ms: Prometheus starts a fraction of a ms after its
                # slot, and rounding down could land before it, in the previous slot.
                return [
                    end_ms + group.eval_timestamp(math.ceil(t * 1000)) - prom_end_ms
                    for t in prom_times
                ]
            unmatched.append(group.key)
            start = end_ms + READY_AFTER_S * 1000
            return [start + k * step_ms for k in range(args.cycles + 1)]

        ours = asyncio.run(run_aiwatch(rules, schedule, gc_freeze=args.gc_freeze))
        if measured is not None and unmatched:
            print(f"{len(unmatched)} groups not at Prometheus' times, e.g. {unmatched[0]}")
    report(ours, proms, followed=measured)


if __name__ == "__main__":
    main()
