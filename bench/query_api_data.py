"""``bench/query_api.py``'s data: one hour of a real daemon's series, for aiwatch and Prometheus.

1. **Record.** A real ``aiwatch run`` probes N streaming chat targets on ``aiwatch mock-ai``
   (every 2 s, self-scrape every second) with the bundled rules and an experiment, and is
   stopped with SIGTERM, which writes its sample snapshot. Its series are what the daemon
   really stores: every metric of every target, ``up``, the experiment's series.
2. **Synthesize.** The snapshot is read back and each raw series is extended over the last
   hour at a 15 s step: a counter grows at the rate it had in the recording, a gauge repeats
   the values it had, a ``*_timestamp_seconds`` gauge keeps its lag behind the sample's time.
   The recording rules of ``prometheus/recording.yml`` are then evaluated over that hour by
   aiwatch's engine at the same 15 s step (what a rule group evaluated every 15 s records)
   and their series added.
3. **Load.** The same samples go to aiwatch as its snapshot file (``samples.snapshot``,
   restored at start-up like any other) and to Prometheus as OpenMetrics text turned into
   TSDB blocks by ``promtool tsdb create-blocks-from openmetrics`` in its data directory.
"""

from __future__ import annotations

import math
import subprocess
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from aiwatch import snapshot
from aiwatch.promql.limits import Budget, QueryLimits
from aiwatch.promql.ranges import range_query
from aiwatch.promql.storage import Labels, MemoryStorage, is_stale
from aiwatch.promql.syntax import parse

ROOT = Path(__file__).resolve().parent.parent
STEP_MS = 15_000
HOUR_MS = 3_600_000
LOOKBACK_MS = 300_000
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
FEATURES = ("captions", "search", "support", "gateway")


def config_text(n: int, mock_url: str, *, interval: str, evaluation: str) -> str:
    """N streaming chat targets over four features, the bundled rules, one experiment."""
    targets = "".join(
        f"  - {{name: chat-{i:03d}, kind: openai_chat, url: '{mock_url}/v1', model: mock-gpt, "
        f"feature: {FEATURES[i % len(FEATURES)]}, stream: true, timeout: 5s, "
        "price: {input_per_million: 0.15, output_per_million: 0.6}, "
        "request: {max_tokens: 8, mock: {time_to_first_token: 0.05, tokens_per_second: 400, "
        "output_tokens: 8, ratelimit_remaining_requests: 400, "
        "ratelimit_remaining_tokens: 90000}}}\n"
        for i in range(n)
    )
    rules = [str(ROOT / "prometheus" / "recording.yml"), str(ROOT / "prometheus" / "alerts.yml")]
    return (
        f"global:\n  probe_interval: {interval}\n  evaluation_interval: {evaluation}\n"
        "  retention: 2h\n"
        f"rule_files: {rules}\n"
        f"targets:\n{targets}"
        "experiments:\n"
        "  - name: bench-model\n    control: current\n    variants:\n"
        "      - {name: current, target: chat-000, weight: 0.5}\n"
        "      - {name: candidate, target: chat-001, weight: 0.5}\n"
        "    metrics:\n"
        "      - {name: success_rate, source: probe, kind: proportion, field: success, "
        "goal: increase}\n"
        "      - {name: latency, source: probe, kind: mean, field: duration, goal: decrease}\n"
    )


def recorded(snapshot_path: Path) -> dict[Labels, tuple[list[int], list[float]]]:
    """The raw series of a daemon's snapshot (rules' outputs left out), without stale markers."""
    storage = MemoryStorage()
    snapshot.restore(storage, str(snapshot_path), mint_ms=0)
    out = {}
    for key, times, values in storage.dump(0, 2**62):
        name = dict(key).get("__name__", "")
        if ":" in name or name.startswith("ALERTS"):
            continue
        kept = [(t, v) for t, v in zip(times, values, strict=True) if not is_stale(v)]
        if kept:
            ordered = sorted(kept)
            out[key] = ([t for t, _ in ordered], [v for _, v in ordered])
    return out


def _extended(
    name: str, times: Sequence[int], values: Sequence[float], grid: Sequence[int]
) -> Iterator[float]:
    """One value per grid time, following the recorded series' behaviour."""
    if name.endswith("_timestamp_seconds"):
        lag = times[-1] / 1000 - values[-1]
        for t in grid:
            yield t / 1000 - lag
    elif name.endswith(COUNTER_SUFFIXES):
        span = times[-1] - times[0]
        per_ms = (values[-1] - values[0]) / span if span > 0 else 0.0
        whole = all(float(v).is_integer() for v in values)
        for i in range(len(grid)):
            value = values[0] + max(per_ms, 0.0) * i * STEP_MS
            yield float(math.floor(value)) if whole else value
    else:
        for i in range(len(grid)):
            yield values[i % len(values)]


def synthesize(
    series: dict[Labels, tuple[list[int], list[float]]], *, end_ms: int
) -> MemoryStorage:
    """The raw series over the hour before ``end_ms`` at 15 s, plus the recorded series."""
    grid = list(range(end_ms - HOUR_MS, end_ms + 1, STEP_MS))
    storage = MemoryStorage()
    for key, (times, values) in series.items():
        name = dict(key).get("__name__", "")
        for t, value in zip(grid, _extended(name, times, values, grid), strict=True):
            storage.append_key(key, t, value)
    _record(storage, grid[0], grid[-1])
    return storage


def _record(storage: MemoryStorage, start_ms: int, end_ms: int) -> None:
    """Each recording rule over the window, in file order (later rules read earlier ones)."""
    document = yaml.safe_load((ROOT / "prometheus" / "recording.yml").read_text())
    limits = QueryLimits(timeout_s=600.0, max_samples=500_000_000)
    for group in document["groups"]:
        for rule in group["rules"]:
            matrix = range_query(
                parse(rule["expr"]),
                storage,
                start_ms,
                end_ms,
                STEP_MS,
                lookback_ms=LOOKBACK_MS,
                subquery_step_ms=STEP_MS,
                budget=Budget(limits),
            )
            for labels, times, values in matrix:
                out = {**dict(labels), **rule.get("labels", {}), "__name__": rule["record"]}
                for t, value in zip(times, values, strict=True):
                    storage.append(out, t, value)


def save_for_aiwatch(storage: MemoryStorage, directory: Path) -> int:
    """The samples as aiwatch's snapshot in ``directory``; its size in bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    return snapshot.save(storage, str(directory / "samples.snapshot"))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def openmetrics(storage: MemoryStorage, path: Path) -> int:
    """The samples as OpenMetrics text, one family after another; how many samples."""
    families: dict[str, list[tuple[Labels, Sequence[int], Sequence[float]]]] = defaultdict(list)
    for key, times, values in storage.dump(0, 2**62):
        families[dict(key)["__name__"]].append((key, times, values))
    count = 0
    with path.open("w") as out:
        for name in sorted(families):
            for key, times, values in families[name]:
                pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in key if k != "__name__")
                head = f"{name}{{{pairs}}}" if pairs else name
                for t, value in zip(times, values, strict=True):
                    if not is_stale(value):
                        out.write(f"{head} {_number(value)} {t / 1000:.3f}\n")
                        count += 1
        out.write("# EOF\n")
    return count


def load_prometheus(promtool: str, openmetrics_file: Path, tsdb: Path) -> None:
    """TSDB blocks of the OpenMetrics file in Prometheus' data directory ``tsdb``."""
    tsdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics_file), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=1800,
    )
