"""The inputs of ``bench/rule_eval.py``: probe series shaped like aiwatch's, and a rule file.

Series: 400 targets × 25 series = 10,000 (``aiwatch_probe_success``,
``aiwatch_probes_total{result}``, ``aiwatch_probe_errors_total{error_type}``,
``aiwatch_probe_duration_seconds_{bucket,sum,count}``, ``aiwatch_probe_http_status_code``,
``aiwatch_probe_last_run_timestamp_seconds``), spread over 4 aiwatch instances, 40 features,
8 teams and 4 models, one probe per target per scrape step. Most targets are healthy; some
fail often, some are slow, some went down 10 minutes before the end, and one instance
restarted half-way (its counters reset).

Rules: one fleet-wide group of 40 rules over every target and 40 per-feature groups of 24
rules, 1,000 in all: recording rules (error ratios over 5m/30m/1h, latency quantiles, means,
availability) and alerting rules with ``for`` that use them (burn rates joined with
``and on``, comparisons against the fleet with ``on``/``group_left``, ``absent``,
staleness by ``time()``), with templated annotations.
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


_RATIO = (
    'sum by (target, feature) (rate(aiwatch_probes_total{{{sel}result="success"}}[{w}]))\n'
    "/\nsum by (target, feature) (rate(aiwatch_probes_total{{{sel}}}[{w}]))"
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rule(kind: str, name: str, expr: str, **extra: object) -> str:
    lines = [f"      - {kind}: {name}", "        expr: |"]
    lines += [f"          {line}" for line in expr.splitlines()]
    if extra.get("for_"):
        lines.append(f"        for: {extra['for_']}")
    labels = extra.get("labels")
    if isinstance(labels, dict):
        lines.append("        labels:")
        lines += [f"          {k}: {_quote(str(v))}" for k, v in labels.items()]
    annotations = extra.get("annotations")
    if isinstance(annotations, dict):
        lines.append("        annotations:")
        lines += [f"          {k}: {_quote(str(v))}" for k, v in annotations.items()]
    return "\n".join(lines)


def _record_rule(name: str, expr: str, feature: str | None = None) -> str:
    # Each feature group records the same names; the feature label keeps them apart (and
    # promtool rejects same-named recording rules with the same labels).
    return _rule("record", name, expr, labels=None if feature is None else {"feature": feature})


def _record(name: str, expr: str) -> str:
    return _record_rule(name, expr)


def _alert(name: str, expr: str, for_: str, severity: str, summary: str) -> str:
    return _rule(
        "alert",
        name,
        expr,
        for_=for_,
        labels={"severity": severity},
        annotations={
            "summary": summary,
            "description": "{{ $labels.target }} ({{ $labels.feature }}): value {{ $value }}",
        },
    )


def feature_rules(f: int) -> list[str]:
    """The 24 rules of one feature's group: its SLO recordings and alerts."""
    feat = f"feature-{f:02d}"
    sel = f'feature="{feat}",'
    only = f'feature="{feat}"'
    slo = 0.99 if f % 3 else 0.995
    p90 = 1.5 + f % 5 * 0.5
    tgt = "target:aiwatch_probe"
    rate5 = f"{tgt}_success:ratio_rate5m{{{only}}}"
    rate30 = f"{tgt}_success:ratio_rate30m{{{only}}}"
    rate1h = f"{tgt}_success:ratio_rate1h{{{only}}}"
    bucket = f"rate(aiwatch_probe_duration_seconds_bucket{{{only}}}[5m])"

    def quantile(q: str) -> str:
        return f"histogram_quantile({q}, sum by (target, feature, le) ({bucket}))"

    def _record(name: str, expr: str) -> str:
        return _record_rule(name, expr, feat)

    return [
        _record(f"{tgt}_success:ratio_rate5m", _RATIO.format(sel=sel, w="5m")),
        _record(f"{tgt}_success:ratio_rate30m", _RATIO.format(sel=sel, w="30m")),
        _record(f"{tgt}_success:ratio_rate1h", _RATIO.format(sel=sel, w="1h")),
        _record(
            "target_error_type:aiwatch_probe_errors:rate5m",
            "sum by (target, feature, error_type) "
            f"(rate(aiwatch_probe_errors_total{{{only}}}[5m]))",
        ),
        _record(f"{tgt}_duration_seconds:p50_5m", quantile("0.5")),
        _record(f"{tgt}_duration_seconds:p90_5m", quantile("0.9")),
        _record(f"{tgt}_duration_seconds:p99_5m", quantile("0.99")),
        _record(
            f"{tgt}_duration_seconds:mean5m",
            f"sum by (target, feature) (rate(aiwatch_probe_duration_seconds_sum{{{only}}}[5m]))\n"
            f"/\nsum by (target, feature) "
            f"(rate(aiwatch_probe_duration_seconds_count{{{only}}}[5m]))",
        ),
        _record(
            f"{tgt}_success:avg10m",
            f"avg by (target, feature) (avg_over_time(aiwatch_probe_success{{{only}}}[10m]))",
        ),
        _record(
            "feature:aiwatch_probe_success:ratio_rate5m",
            f'sum(rate(aiwatch_probes_total{{{sel}result="success"}}[5m]))\n'
            f"/\nsum(rate(aiwatch_probes_total{{{only}}}[5m]))",
        ),
        _record(
            "feature:aiwatch_probes:increase1h",
            f"sum by (feature) (increase(aiwatch_probes_total{{{only}}}[1h]))",
        ),
        _record(
            "feature:aiwatch_probe_duration_seconds:p95_5m",
            f"histogram_quantile(0.95, sum by (feature, le) ({bucket}))",
        ),
        _alert(
            f"EndpointDown{f:02d}",
            f"{tgt}_success:avg10m{{{only}}} == 0",
            "2m",
            "critical",
            "{{ $labels.target }} is down",
        ),
        _alert(
            f"ErrorBudgetBurnFast{f:02d}",
            f"(1 - {rate5}) > {14.4 * (1 - slo):.4g}\nand on (target)\n"
            f"(1 - {rate1h}) > {14.4 * (1 - slo):.4g}",
            "2m",
            "critical",
            "{{ $labels.target }} burns its error budget fast",
        ),
        _alert(
            f"ErrorBudgetBurnSlow{f:02d}",
            f"(1 - {rate30}) > {6 * (1 - slo):.4g}\nand on (target)\n"
            f"(1 - {rate1h}) > {6 * (1 - slo):.4g}",
            "15m",
            "warning",
            "{{ $labels.target }} burns its error budget",
        ),
        _alert(
            f"LatencyP90High{f:02d}",
            f"{tgt}_duration_seconds:p90_5m{{{only}}} > {p90:g}",
            "5m",
            "warning",
            "{{ $labels.target }} p90 is {{ $value | humanizeDuration }}",
        ),
        _alert(
            f"LatencyP99High{f:02d}",
            f"{tgt}_duration_seconds:p99_5m{{{only}}} > {4 * p90:g}",
            "10m",
            "warning",
            "{{ $labels.target }} p99 is {{ $value | humanizeDuration }}",
        ),
        _alert(
            f"RateLimited{f:02d}",
            "target_error_type:aiwatch_probe_errors:rate5m"
            f'{{{sel}error_type="rate_limited"}} > 0.01',
            "5m",
            "warning",
            "{{ $labels.target }} is rate limited",
        ),
        _alert(
            f"Timeouts{f:02d}",
            f'increase(aiwatch_probe_errors_total{{{sel}error_type="timeout"}}[15m]) > 2',
            "5m",
            "warning",
            "{{ $labels.target }} timed out {{ $value | humanize }} times",
        ),
        _alert(
            f"ProbesStale{f:02d}",
            f"time() - aiwatch_probe_last_run_timestamp_seconds{{{only}}} > 120",
            "1m",
            "warning",
            "{{ $labels.target }} has not been probed for {{ $value | humanizeDuration }}",
        ),
        _alert(
            f"ServerErrors{f:02d}",
            f"max_over_time(aiwatch_probe_http_status_code{{{only}}}[5m]) >= 500",
            "5m",
            "info",
            "{{ $labels.target }} answered {{ $value }}",
        ),
        _alert(
            f"SlowerThanFleet{f:02d}",
            f"{tgt}_duration_seconds:mean5m{{{only}}}\n"
            "> on () group_left ()\n"
            "3 * fleet:aiwatch_probe_duration_seconds:mean5m",
            "10m",
            "info",
            "{{ $labels.target }} is 3x slower than the fleet",
        ),
        _alert(
            f"FeatureAvailabilityLow{f:02d}",
            f"feature:aiwatch_probe_success:ratio_rate5m{{{only}}} < {slo}",
            "5m",
            "critical",
            "{{ $labels.feature }} passes {{ $value | humanizePercentage }} of probes",
        ),
        _alert(
            f"FeatureNoProbes{f:02d}",
            f"absent(aiwatch_probes_total{{{only}}})",
            "5m",
            "critical",
            "no probes of " + feat,
        ),
    ]


def fleet_rules() -> list[str]:
    """The 40 fleet-wide rules, over every target."""
    out: list[str] = []
    for w in ("5m", "30m", "1h"):
        out.append(
            _record(
                f"fleet:aiwatch_probe_success:ratio_rate{w}",
                f'sum(rate(aiwatch_probes_total{{result="success"}}[{w}]))\n'
                f"/\nsum(rate(aiwatch_probes_total[{w}]))",
            )
        )
    for by in ("instance", "team", "model", "kind"):
        out.append(
            _record(
                f"{by}:aiwatch_probe_success:ratio_rate5m",
                f'sum by ({by}) (rate(aiwatch_probes_total{{result="success"}}[5m]))\n'
                f"/\nsum by ({by}) (rate(aiwatch_probes_total[5m]))",
            )
        )
        out.append(
            _record(
                f"{by}:aiwatch_probe_duration_seconds:p95_5m",
                f"histogram_quantile(0.95, sum by ({by}, le) "
                "(rate(aiwatch_probe_duration_seconds_bucket[5m])))",
            )
        )
        out.append(
            _record(
                f"{by}_error_type:aiwatch_probe_errors:rate5m",
                f"sum by ({by}, error_type) (rate(aiwatch_probe_errors_total[5m]))",
            )
        )
    for q in ("0.5", "0.9", "0.99"):
        out.append(
            _record(
                f"fleet:aiwatch_probe_duration_seconds:p{round(float(q) * 100)}_5m",
                "histogram_quantile("
                f"{q}, sum by (le) (rate(aiwatch_probe_duration_seconds_bucket[5m])))",
            )
        )
    out += [
        _record(
            "fleet:aiwatch_probe_success:avg",
            "avg(aiwatch_probe_success)",
        ),
        _record(
            "instance:aiwatch_probes:increase1h",
            "sum by (instance) (increase(aiwatch_probes_total[1h]))",
        ),
        _record(
            "team:aiwatch_targets_down:count",
            "count by (team) (aiwatch_probe_success == 0)",
        ),
        _record(
            "fleet:aiwatch_probe_duration_seconds:mean5m",
            "sum(rate(aiwatch_probe_duration_seconds_sum[5m]))\n"
            "/\nsum(rate(aiwatch_probe_duration_seconds_count[5m]))",
        ),
        _record(
            "model:aiwatch_probe_duration_seconds:stddev5m",
            "stddev by (model) (rate(aiwatch_probe_duration_seconds_sum[5m])"
            "\n/\nrate(aiwatch_probe_duration_seconds_count[5m]))",
        ),
        _record(
            "fleet:aiwatch_slowest_targets:top10",
            "topk(10, rate(aiwatch_probe_duration_seconds_sum[5m]))",
        ),
        _record(
            "fleet:aiwatch_probe_http_status_code:count",
            'count_values("code", aiwatch_probe_http_status_code)',
        ),
        _record(
            "team:aiwatch_probe_success:min10m",
            "min by (team) (min_over_time(aiwatch_probe_success[10m]))",
        ),
        _record(
            "team:aiwatch_probe_duration_seconds:q90_mean5m",
            "quantile by (team) (0.9, rate(aiwatch_probe_duration_seconds_sum[5m])"
            "\n/\nrate(aiwatch_probe_duration_seconds_count[5m]))",
        ),
        _record(
            "team:aiwatch_probe_errors:ratio_rate30m",
            "sum by (team) (rate(aiwatch_probe_errors_total[30m]))\n"
            "/ on (team)\nsum by (team) (rate(aiwatch_probes_total[30m]))",
        ),
        _record(
            "kind:aiwatch_probe_success:avg10m",
            "avg by (kind) (avg_over_time(aiwatch_probe_success[10m]))",
        ),
    ]
    out += [
        _alert(
            "ModelServerErrorsHigh",
            'model_error_type:aiwatch_probe_errors:rate5m{error_type="server_error"}\n'
            "/ ignoring (error_type) group_left ()\n"
            "sum by (model) (rate(aiwatch_probes_total[5m])) > 0.02",
            "5m",
            "warning",
            "{{ $labels.model }} answers {{ $value | humanizePercentage }} with server errors",
        ),
        _alert(
            "FleetAvailabilityLow",
            "fleet:aiwatch_probe_success:ratio_rate5m < 0.97",
            "5m",
            "critical",
            "the fleet passes {{ $value | humanizePercentage }} of probes",
        ),
        _alert(
            "InstanceAvailabilityLow",
            "instance:aiwatch_probe_success:ratio_rate5m\n< on () group_left ()\n"
            "fleet:aiwatch_probe_success:ratio_rate5m - 0.02",
            "5m",
            "warning",
            "{{ $labels.instance }} sees more failures than the fleet",
        ),
        _alert(
            "TeamTargetsDown",
            "team:aiwatch_targets_down:count > 1",
            "5m",
            "critical",
            "{{ $value }} targets of {{ $labels.team }} are down",
        ),
        _alert(
            "ModelSlow",
            "model:aiwatch_probe_duration_seconds:p95_5m > 5",
            "10m",
            "warning",
            "{{ $labels.model }} p95 is {{ $value | humanizeDuration }}",
        ),
        _alert(
            "FleetLatencyHigh",
            "fleet:aiwatch_probe_duration_seconds:p90_5m > 3",
            "10m",
            "warning",
            "fleet p90 is {{ $value | humanizeDuration }}",
        ),
        _alert(
            "InstanceRestarted",
            "resets(aiwatch_probes_total[1h]) > 0",
            "0s",
            "info",
            "{{ $labels.instance }} restarted",
        ),
        _alert(
            "EndpointFlapping",
            "changes(aiwatch_probe_success[30m]) > 8",
            "10m",
            "warning",
            "{{ $labels.target }} changed state {{ $value }} times",
        ),
        _alert(
            "FeatureErrorsAboveFleet",
            "feature:aiwatch_probe_success:ratio_rate5m\n< on () group_left ()\n"
            "fleet:aiwatch_probe_success:ratio_rate5m - 0.05",
            "5m",
            "warning",
            "{{ $labels.feature }} fails more than the fleet",
        ),
        _alert(
            "TimeoutsSpike",
            'sum by (team) (rate(aiwatch_probe_errors_total{error_type="timeout"}[5m]))\n'
            '> 2 * sum by (team) (rate(aiwatch_probe_errors_total{error_type="timeout"}[1h]))',
            "10m",
            "warning",
            "timeouts at {{ $labels.team }} doubled",
        ),
        _alert(
            "NoProbesAnywhere",
            "absent(aiwatch_probe_success)",
            "2m",
            "critical",
            "no probe results",
        ),
    ]
    return out


def rule_file() -> tuple[str, int]:
    """The rule file's YAML text and how many rules it holds."""
    groups = [("fleet", fleet_rules())]
    groups += [(f"feature-{f:02d}", feature_rules(f)) for f in range(FEATURES)]
    parts = ["groups:"]
    count = 0
    for name, rules in groups:
        parts += [f"  - name: {name}", "    rules:", *rules]
        count += len(rules)
    return "\n".join(parts) + "\n", count
