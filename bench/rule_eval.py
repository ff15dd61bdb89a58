"""Benchmark: 1,000 rules over 10,000 series, aiwatch's rule manager against a real Prometheus.

The series and the rule file come from ``rule_eval_data`` (aiwatch's probe series for 400
targets, one hour at 15 s; 41 groups, 509 recording and 491 alerting rules). The rule file
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
the same samples in every window; the pending and firing alerts of the last cycle are
compared by rule. It prints the median and p90 per cycle (wall and CPU), memory
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
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.group import Group
from aiwatch.rules.manager import ManagerOptions, RuleManager, load_groups
from aiwatch.rules.query import LocalQuery
from rule_eval_data import HISTORY_S, SERIES, STEP_S, Data, make_data, openmetrics, rule_file

INTERVAL_S = 5
WARMUP_EVALUATIONS = 2  # Prometheus restores `for` state after its second evaluation
PROMETHEUS_TIMEOUT_S = 180.0
SCRAPE_MS = 250
# Evaluations count from this long after the data's newest sample (scraping it takes ~60 s).
READY_AFTER_S = 65


def machine() -> str:
    """nproc, CPU model and Python version."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


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


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def promtool_check(path: Path) -> str:
    """What ``promtool check rules`` says about the rule file."""
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    said = " ".join((done.stdout + done.stderr).split())
    return said if done.returncode == 0 else f"FAILED: {said[:2000]}"


# ---- Prometheus ------------------------------------------------------------------------------


@dataclass
class PromRun:
    """What one Prometheus run measured."""

    cycles_s: list[float] = field(default_factory=list)
    # Per group key (``file;name``): the start of each counted evaluation, Unix seconds.
    eval_times_s: dict[str, list[float]] = field(default_factory=dict)
    groups: int = 0
    cpu_per_cycle_s: float = math.nan
    rss_mb: float = math.nan
    feed_s: float = math.nan
    data_end_s: float = math.nan
    rule_errors: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    note: str = ""


def _parse_metrics(text: str) -> dict[str, dict[str, float]]:
    wanted = (
        "prometheus_rule_group_last_duration_seconds",
        "prometheus_rule_group_last_evaluation_timestamp_seconds",
    )
    out: dict[str, dict[str, float]] = {w: {} for w in wanted}
    out["process"] = {}
    for line in text.splitlines():
        if line.startswith(("process_cpu_seconds_total ", "process_resident_memory_bytes ")):
            name, value = line.split()
            out["process"][name] = float(value)
            continue
        for w in wanted:
            if line.startswith(w + "{"):
                labels, value = line.rsplit(" ", 1)
                group = labels.split('rule_group="', 1)[1].split('"', 1)[0]
                out[w][group] = float(value)
    return out


class Feeder:
    """A loopback exporter serving one scrape step of ``data`` per scrape, with timestamps.

    After the last step it serves an empty page: series with explicit timestamps get no
    staleness markers, so the data stays queryable and later scrapes cost nothing.
    """

    def __init__(self, data: Data) -> None:
        self.data = data
        self.heads = []
        for s in data.series:
            pairs = ",".join(f'{k}="{v}"' for k, v in s.labels.items() if k != "__name__")
            self.heads.append(f"{s.labels['__name__']}{{{pairs}}} ")
        self.step = 0
        self.done_at: float | None = None  # wall clock when the last step was served

    async def handle(self, _: web.Request) -> web.Response:
        """One scrape."""
        step = self.step
        self.step += 1
        if step >= len(self.data.times_ms):
            if self.done_at is None:
                self.done_at = time.time()
            return web.Response(text="", content_type="text/plain")
        t = self.data.times_ms[step]
        body = "".join(
            f"{head}{s.values[step]!r} {t}\n"
            for head, s in zip(self.heads, self.data.series, strict=True)
        )
        return web.Response(text=body, content_type="text/plain")


async def _watch(
    port: int, *, evaluations: int, deadline: float, feeder: Feeder | None, not_before: float
) -> tuple[PromRun, str]:
    """Poll Prometheus' /metrics until every group has been evaluated ``evaluations`` times.

    Only evaluations that start at ``not_before`` or later count, and with a ``feeder`` only
    those that start a second after all data was scraped.
    """
    run = PromRun()
    seen: dict[str, list[tuple[float, float]]] = {}
    cpu: list[float] = []
    base = f"http://127.0.0.1:{port}"
    ready_at = not_before if feeder is None else math.inf
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            if feeder is not None and feeder.done_at is not None:
                ready_at = max(not_before, feeder.done_at + 1.0)
            try:
                async with session.get(base + "/metrics") as response:
                    parsed = _parse_metrics(await response.text())
            except aiohttp.ClientError:
                continue
            stamps = parsed["prometheus_rule_group_last_evaluation_timestamp_seconds"]
            for group, stamp in stamps.items():
                history = seen.setdefault(group, [])
                if stamp >= ready_at and (not history or history[-1][0] != stamp):
                    duration = parsed["prometheus_rule_group_last_duration_seconds"][group]
                    history.append((stamp, duration))
            done = min((len(h) for h in seen.values()), default=0)
            if done == WARMUP_EVALUATIONS and not cpu:
                cpu.append(parsed["process"]["process_cpu_seconds_total"])
            if done >= evaluations and seen:
                cpu.append(parsed["process"]["process_cpu_seconds_total"])
                run.rss_mb = parsed["process"]["process_resident_memory_bytes"] / 2**20
                break
        else:
            run.note = "timed out before every group was evaluated enough times"
        async with session.get(base + "/api/v1/rules") as response:
            rules = (await response.json())["data"]["groups"]
        run.rule_errors = sum(r["health"] != "ok" for g in rules for r in g["rules"])
        first_error = next(
            (r["lastError"] for g in rules for r in g["rules"] if r["health"] != "ok"), ""
        )
        async with session.get(base + "/api/v1/alerts") as response:
            alerts = (await response.json())["data"]["alerts"]
        run.alerts = Counter(a["labels"]["alertname"].rstrip("0123456789") for a in alerts)
    run.groups = len(seen)
    n = min((len(h) for h in seen.values()), default=0)
    for k in range(WARMUP_EVALUATIONS, n):
        run.cycles_s.append(sum(h[k][1] for h in seen.values()))
    run.eval_times_s = {g: [t for t, _ in h[WARMUP_EVALUATIONS:n]] for g, h in seen.items()}
    if len(cpu) == 2 and run.cycles_s:
        run.cpu_per_cycle_s = (cpu[1] - cpu[0]) / (n - WARMUP_EVALUATIONS)
    return run, first_error


def _backfill(tmp: Path, data: Data, tsdb: Path) -> str:
    """Write ``data`` into blocks under ``tsdb``; an error message, or "" on success."""
    source = tmp / "series.om"
    with source.open("w") as out:
        out.writelines(openmetrics(data))
    done = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        capture_output=True,
        text=True,
        check=False,
    )
    source.unlink()
    return "" if done.returncode == 0 else f"backfill failed: {done.stderr[-500:]}"


async def _serve_and_watch(
    command: list[str], log: Path, *, feeder: Feeder | None, feed_port: int, **watch: Any
) -> tuple[PromRun, str]:
    runner = None
    if feeder is not None:
        app = web.Application()
        app.router.add_get("/metrics", feeder.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", feed_port).start()
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
        try:
            return await _watch(feeder=feeder, **watch)
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            if runner is not None:
                await runner.cleanup()


def run_prometheus(rules: Path, tmp: Path, *, feed: str, evaluations: int) -> PromRun:
    """Give Prometheus fresh data (``backfill`` or ``scrape``), measure its rule evaluations.

    The data ends now; only evaluations ``READY_AFTER_S`` or more after its end count, so
    every run (and aiwatch, at the same offsets) sees the same samples in its windows.
    """
    end_ms = int(time.time()) // STEP_S * STEP_S * 1000
    data = make_data(end_ms=end_ms)
    tsdb = tmp / f"tsdb-{feed}"
    config = tmp / f"prometheus-{feed}.yml"
    text = f"global:\n  evaluation_interval: {INTERVAL_S}s\nrule_files:\n  - {rules}\n"
    feeder, feed_port = None, free_port()
    started = time.time()
    if feed == "backfill":
        error = _backfill(tmp, data, tsdb)
        if error:
            return PromRun(note=error)
    else:
        feeder = Feeder(data)
        # honor_labels keeps the fed job and instance labels, as for aiwatch's own store.
        text += (
            "scrape_configs:\n  - job_name: feed\n    honor_labels: true\n"
            f"    scrape_interval: {SCRAPE_MS}ms\n    scrape_timeout: {SCRAPE_MS}ms\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{feed_port}']}}]\n"
        )
    feed_s = time.time() - started
    config.write_text(text)
    port = free_port()
    command = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    run, first_error = asyncio.run(
        _serve_and_watch(
            command,
            tmp / f"prometheus-{feed}.log",
            feeder=feeder,
            feed_port=feed_port,
            port=port,
            evaluations=evaluations,
            deadline=time.monotonic() + PROMETHEUS_TIMEOUT_S,
            not_before=end_ms / 1000 + READY_AFTER_S,
        )
    )
    run.feed_s = feed_s if feeder is None else (feeder.done_at or math.nan) - started
    run.data_end_s = end_ms / 1000
    if first_error:
        run.note += f" first rule error: {first_error}"
    return run


# ---- aiwatch ---------------------------------------------------------------------------------


@dataclass
class AiwatchRun:
    """What the aiwatch run measured."""

    cycles_s: list[float]
    cycles_cpu_s: list[float]
    fill_s: float
    store_peak_mb: float
    store_rss_mb: float
    cycle_peak_mb: float
    cycle_rss_mb: float
    series: int
    samples: int
    rule_errors: int
    alerts: Counter[str]


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
            await manager.evaluate_group(group, times[group.key][k])
        return time.perf_counter() - started, time.process_time() - cpu

    rss_before = rss_mb()
    cycles = [await cycle(k) for k in range(count - 1)]
    # One more cycle with tracemalloc on (slower, so not timed): what a cycle allocates.
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    await cycle(count - 1)
    cycle_peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    cycle_rss = (rss_mb() - rss_before) / count
    return AiwatchRun(
        cycles_s=[wall for wall, _ in cycles],
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
        f"{len(ours.cycles_s)} cycles"
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
                return [
                    end_ms + group.eval_timestamp(round(t * 1000)) - prom_end_ms
                    for t in measured.eval_times_s[group.key]
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
