"""The rule file of ``bench/rule_eval.py``: 1,000 rules over aiwatch's probe series.

One fleet-wide group of 40 rules over every target and 40 per-feature groups of 24 rules:
recording rules (error ratios over 5m/30m/1h, latency quantiles, means, availability) and
alerting rules with ``for`` that use them (burn rates joined with ``and on``, comparisons
against the fleet with ``on``/``group_left``, ``absent``, staleness by ``time()``), with
templated annotations. The file passes ``promtool check rules``.
"""

from rule_eval_data import FEATURES

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
