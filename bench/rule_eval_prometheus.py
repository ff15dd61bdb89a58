"""The Prometheus side of ``bench/rule_eval.py``: feed it the series, time its rule groups.

Prometheus (``prometheus`` from PATH, loopback ports, a temporary TSDB) gets the data by
``scrape`` (a loopback exporter, one 15 s step per 250 ms scrape with explicit timestamps:
the data sits in the head block) or ``backfill`` (``promtool tsdb create-blocks-from
openmetrics`` into a persisted block before start).
"""

import asyncio
import math
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from probe_throughput import free_port
from rule_eval_data import STEP_S, Data, make_data, openmetrics

INTERVAL_S = 5
WARMUP_EVALUATIONS = 2  # Prometheus restores `for` state after its second evaluation
PROMETHEUS_TIMEOUT_S = 180.0
SCRAPE_MS = 250
# Evaluations count from this long after the data's newest sample (scraping it takes ~60 s).
READY_AFTER_S = 65


def promtool_check(path: Path) -> str:
    """What ``promtool check rules`` says about the rule file."""
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    said = " ".join((done.stdout + done.stderr).split())
    return said if done.returncode == 0 else f"FAILED: {said[:2000]}"


@dataclass
class PromRun:
    """What one Prometheus run measured."""

    cycles_s: list[float] = field(default_factory=list)
    # Per group key (``file;name``): the start of each counted evaluation, Unix seconds.
    eval_times_s: dict[str, list[float]] = field(default_factory=dict)
    # Per group key: the start of its last evaluation before ``alerts`` was read. A group
    # may have run once more than the counted evaluations by then.
    final_eval_s: dict[str, float] = field(default_factory=dict)
    groups: int = 0
    cpu_per_cycle_s: float = math.nan
    rss_mb: float = math.nan
    feed_s: float = math.nan
    data_end_s: float = math.nan
    rule_errors: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    # Every pending or firing alert: its sorted label pairs.
    alert_labels: set[tuple[tuple[str, str], ...]] = field(default_factory=set)
    note: str = ""


_LAST_EVALUATION = "prometheus_rule_group_last_evaluation_timestamp_seconds"


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
        # The alerts must belong to known evaluations: read them between two identical
        # readings of every group's last evaluation time.
        for _ in range(10):
            async with session.get(base + "/metrics") as response:
                before = _parse_metrics(await response.text())[_LAST_EVALUATION]
            async with session.get(base + "/api/v1/alerts") as response:
                alerts = (await response.json())["data"]["alerts"]
            async with session.get(base + "/metrics") as response:
                after = _parse_metrics(await response.text())[_LAST_EVALUATION]
            if before == after:
                run.final_eval_s = after
                break
        else:
            run.note += " (no quiet moment to read the alerts: not compared)"
        run.alerts = Counter(a["labels"]["alertname"].rstrip("0123456789") for a in alerts)
        run.alert_labels = {tuple(sorted(a["labels"].items())) for a in alerts}
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
