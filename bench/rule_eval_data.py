"""The series of ``bench/rule_eval.py``: 10,000 probe series shaped like aiwatch's own.

Series: 400 targets × 25 series = 10,000 (``aiwatch_probe_success``,
``aiwatch_probes_total{result}``, ``aiwatch_probe_errors_total{error_type}``,
``aiwatch_probe_duration_seconds_{bucket,sum,count}``, ``aiwatch_probe_http_status_code``,
``aiwatch_probe_last_run_timestamp_seconds``), spread over 4 aiwatch instances, 40 features,
8 teams and 4 models, one probe per target per scrape step. Most targets are healthy; some
fail often, some are slow, some went down 10 minutes before the end, and one instance
restarted half-way (its counters reset).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from aiwatch.metrics import DURATION_BUCKETS

TARGETS = 400
INSTANCES = 4
FEATURES = 40
TEAMS = 8
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-haiku", "llama-3.1-70b")
KINDS = ("openai_chat", "openai_chat", "anthropic_messages", "openai_embeddings")
ERROR_TYPES = ("timeout", "server_error", "rate_limited")
LE = (*(f"{b:g}" for b in DURATION_BUCKETS), "+Inf")
STEP_S = 15
HISTORY_S = 3600
SERIES_PER_TARGET = 25
SERIES = TARGETS * SERIES_PER_TARGET


@dataclass(frozen=True)
class Series:
    """One series: its labels (``__name__`` included) and one value per scrape step."""

    labels: dict[str, str]
    values: array[float]


@dataclass(frozen=True)
class Data:
    """Every series over the same scrape timestamps (milliseconds, oldest first)."""

    times_ms: array[int]
    series: list[Series]

    @property
    def sample_count(self) -> int:
        """How many samples there are in all."""
        return len(self.times_ms) * len(self.series)


@dataclass
class _Target:
    labels: dict[str, str]
    error_ratio: float
    slowness: float
    down_from: int  # step index from which every probe fails (past the end if never)
    restart_at: int  # step index at which the instance restarted (0 if never)


def _targets(rng: random.Random, steps: int) -> list[_Target]:
    out = []
    for i in range(TARGETS):
        feature = i % FEATURES
        health = rng.random()
        out.append(
            _Target(
                labels={
                    "job": "aiwatch",
                    "instance": f"aiwatch-{i % INSTANCES}:9531",
                    "target": f"endpoint-{i:03d}",
                    "kind": KINDS[i % len(KINDS)],
                    "feature": f"feature-{feature:02d}",
                    "model": MODELS[(i // FEATURES) % len(MODELS)],
                    "team": f"team-{feature % TEAMS}",
                },
                error_ratio=0.25 if health < 0.06 else 0.01,
                slowness=8.0 if 0.06 <= health < 0.11 else 1.0,
                down_from=steps - 40 if health > 0.98 else steps,
                restart_at=steps // 2 if i % INSTANCES == INSTANCES - 1 else 0,
            )
        )
    return out


def _target_series(rng: random.Random, t: _Target, times_ms: array[int]) -> list[Series]:
    steps = len(times_ms)
    success = array("d")
    status = array("d")
    last_run = array("d")
    probes = {r: array("d") for r in ("success", "failure")}
    errors = {e: array("d") for e in ERROR_TYPES}
    buckets = [array("d") for _ in LE]
    dur_sum, dur_count = array("d"), array("d")
    n_probes = dict.fromkeys(probes, 0.0)
    n_errors = dict.fromkeys(ERROR_TYPES, 0.0)
    n_buckets = [0.0] * len(LE)
    total, count = 0.0, 0.0
    for step in range(steps):
        if step == t.restart_at and step:
            n_probes = dict.fromkeys(probes, 0.0)
            n_errors = dict.fromkeys(ERROR_TYPES, 0.0)
            n_buckets = [0.0] * len(LE)
            total, count = 0.0, 0.0
        ok = step < t.down_from and rng.random() >= t.error_ratio
        error = None if ok else ERROR_TYPES[0 if step >= t.down_from else rng.randrange(3)]
        duration = 10.0 if error == "timeout" else t.slowness * rng.lognormvariate(-0.7, 0.8)
        n_probes["success" if ok else "failure"] += 1
        if error is not None:
            n_errors[error] += 1
        for j, bound in enumerate(DURATION_BUCKETS):
            if duration <= bound:
                n_buckets[j] += 1
        n_buckets[-1] += 1
        total += duration
        count += 1
        success.append(1.0 if ok else 0.0)
        status.append({None: 200.0, "timeout": 0.0, "server_error": 503.0}.get(error, 429.0))
        last_run.append(times_ms[step] / 1000 - 0.5)
        for name, values in probes.items():
            values.append(n_probes[name])
        for name, values in errors.items():
            values.append(n_errors[name])
        for j, values in enumerate(buckets):
            values.append(n_buckets[j])
        dur_sum.append(total)
        dur_count.append(count)

    def s(name: str, values: array[float], **extra: str) -> Series:
        return Series({"__name__": name, **t.labels, **extra}, values)

    return [
        s("aiwatch_probe_success", success),
        *(s("aiwatch_probes_total", v, result=r) for r, v in probes.items()),
        *(s("aiwatch_probe_errors_total", v, error_type=e) for e, v in errors.items()),
        *(
            s("aiwatch_probe_duration_seconds_bucket", v, le=le)
            for le, v in zip(LE, buckets, strict=True)
        ),
        s("aiwatch_probe_duration_seconds_sum", dur_sum),
        s("aiwatch_probe_duration_seconds_count", dur_count),
        s("aiwatch_probe_http_status_code", status),
        s("aiwatch_probe_last_run_timestamp_seconds", last_run),
    ]


def make_data(*, end_ms: int, seed: int = 1) -> Data:
    """Every series, one sample every ``STEP_S`` for ``HISTORY_S`` up to ``end_ms``."""
    rng = random.Random(seed)
    steps = HISTORY_S // STEP_S + 1
    times_ms = array("q", (end_ms - (steps - 1 - i) * STEP_S * 1000 for i in range(steps)))
    series: list[Series] = []
    for target in _targets(rng, steps):
        series += _target_series(rng, target, times_ms)
    return Data(times_ms, series)


def openmetrics(data: Data) -> Iterator[str]:
    """The data as OpenMetrics text with timestamps (untyped), for ``promtool`` to backfill."""
    for s in data.series:
        name = s.labels["__name__"]
        pairs = ",".join(f'{k}="{v}"' for k, v in s.labels.items() if k != "__name__")
        head = f"{name}{{{pairs}}} "
        yield "".join(
            f"{head}{v!r} {t / 1000:.3f}\n" for t, v in zip(data.times_ms, s.values, strict=True)
        )
    yield "# EOF\n"
