"""Judge a validation run: each gate's thresholds and its non-inferiority to the baseline.

Pure: from the results of each arm to outcomes, one per threshold, margin and the budget.
Latency, time to first token and time per output token are of the successful calls (a failed
call's duration says how it failed, not how fast the model is); cost per call is over the
calls that report one; the success ratio is over every call, and a call succeeds only when
every ``expect`` check of its target passed.
"""

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aiwatch.config.validation import Gate, Thresholds
from aiwatch.probes.result import ProbeResult
from aiwatch.stats.guards import Guard
from aiwatch.stats.noninferiority import NonInferiority, non_inferiority_test
from aiwatch.stats.sufficient import Mean, Proportion, SufficientStats
from aiwatch.validation.plan import Arm, arms_of


@dataclass(frozen=True)
class Outcome:
    """One threshold (or margin, or the budget) of one gate: held or not, and why."""

    gate: str
    name: str
    ok: bool
    observed: str
    limit: str
    message: str
    """One line naming the threshold, what was observed and the limit."""
    values: dict[str, Any] = field(default_factory=dict)
    """The numbers behind it, for JSON."""


Values = Callable[[Sequence[ProbeResult]], list[float]]


def _durations(rs: Sequence[ProbeResult]) -> list[float]:
    return [r.duration for r in rs if r.success]


def _ttfts(rs: Sequence[ProbeResult]) -> list[float]:
    return [r.time_to_first_token for r in rs if r.success and r.time_to_first_token is not None]


def _tpots(rs: Sequence[ProbeResult]) -> list[float]:
    return [
        r.time_per_output_token for r in rs if r.success and r.time_per_output_token is not None
    ]


def _costs(rs: Sequence[ProbeResult]) -> list[float]:
    return [r.cost_usd for r in rs if r.cost_usd is not None]


def summary(results: Sequence[ProbeResult]) -> dict[str, Any]:
    """An arm's figures: calls, success ratio, latency percentiles, TTFT, TPOT, cost, errors."""
    calls = len(results)
    ok = sum(r.success for r in results)
    return {
        "calls": calls,
        "successes": ok,
        "success_ratio": ok / calls if calls else None,
        "latency_p50": _percentile(_durations(results), 50),
        "latency_p95": _percentile(_durations(results), 95),
        "time_to_first_token_p95": _percentile(_ttfts(results), 95),
        "time_per_output_token": _mean(_tpots(results)),
        "cost_per_call": _mean(_costs(results)),
        "errors": dict(sorted(Counter(r.error_type for r in results if r.error_type).items())),
    }


def _percentile(values: list[float], q: float) -> float | None:
    # Linear interpolation between the closest ranks (numpy's default).
    return float(np.percentile(values, q)) if values else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _secs(value: float) -> str:
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.3g}s"


def _usd(value: float) -> str:
    return f"${value:.3g}"


def judge(gate: Gate, results: dict[Arm, list[ProbeResult]], *, alpha: float) -> list[Outcome]:
    """Every outcome of ``gate``: its thresholds, then its margins against the baseline."""
    candidate, baseline = arms_of(gate)
    own = results.get(candidate, [])
    out = _thresholds(candidate.label, gate.thresholds, own)
    if baseline is not None:
        out += _margins(
            gate, candidate.label, own, baseline, results.get(baseline, []), alpha=alpha
        )
    return out


_MAXIMA: tuple[tuple[str, str, Callable[[dict[str, Any]], float | None], str], ...] = (
    ("max_latency_p50", "latency_p50", lambda s: s["latency_p50"], "no successful call"),
    ("max_latency_p95", "latency_p95", lambda s: s["latency_p95"], "no successful call"),
    (
        "max_time_to_first_token_p95",
        "time_to_first_token_p95",
        lambda s: s["time_to_first_token_p95"],
        "no time to first token measured (does the target stream?)",
    ),
    (
        "max_time_per_output_token",
        "time_per_output_token",
        lambda s: s["time_per_output_token"],
        "no time per output token measured (it needs a stream of 2 tokens or more)",
    ),
    (
        "max_cost_per_call",
        "cost_per_call",
        lambda s: s["cost_per_call"],
        "no cost measured (does the target have a price and report usage?)",
    ),
)


def _thresholds(label: str, t: Thresholds, results: Sequence[ProbeResult]) -> list[Outcome]:
    s = summary(results)
    out: list[Outcome] = []
    if t.min_success_ratio is not None:
        out.append(_success(label, t.min_success_ratio, s))
    for name, _, get, missing in _MAXIMA:
        limit = getattr(t, name)
        if limit is not None:
            show = _usd if name == "max_cost_per_call" else _secs
            out.append(_maximum(label, name, get(s), limit, show=show, missing=missing))
    if t.allowed_errors is not None:
        out.append(_allowed(label, t.allowed_errors, s["errors"]))
    return out


def _success(label: str, limit: float, s: dict[str, Any]) -> Outcome:
    ratio = s["success_ratio"]
    name = "min_success_ratio"
    if ratio is None:
        return Outcome(label, name, False, "-", f">= {limit:g}", f"{name}: no calls were made")
    observed = f"{ratio:.3f} ({s['successes']} of {s['calls']})"
    ok = ratio >= limit
    message = f"{name}: observed {observed}, limit >= {limit:g}"
    values = {"observed": ratio, "limit": limit}
    return Outcome(label, name, ok, observed, f">= {limit:g}", message, values)


def _maximum(
    label: str,
    name: str,
    observed: float | None,
    limit: float,
    *,
    show: Callable[[float], str],
    missing: str,
) -> Outcome:
    if observed is None:
        message = f"{name}: {missing}, limit <= {show(limit)}"
        values = {"observed": None, "limit": limit}
        return Outcome(label, name, False, "-", f"<= {show(limit)}", message, values)
    ok = observed <= limit
    message = f"{name}: observed {show(observed)}, limit <= {show(limit)}"
    values = {"observed": observed, "limit": limit}
    return Outcome(label, name, ok, show(observed), f"<= {show(limit)}", message, values)


def _allowed(label: str, allowed: tuple[str, ...], errors: dict[str, int]) -> Outcome:
    name = "allowed_errors"
    bad = {k: v for k, v in errors.items() if k not in allowed}
    seen = ", ".join(f"{v} {k}" for k, v in errors.items()) or "none"
    limit = ", ".join(allowed) or "none"
    message = f"{name}: observed {seen}, allowed {limit}"
    if bad:
        message = f"{name}: {', '.join(f'{v} {k}' for k, v in bad.items())} not allowed ({limit})"
    values = {"observed": errors, "limit": list(allowed)}
    return Outcome(label, name, not bad, seen, limit, message, values)


# metric -> (values, relative margin, lower is better)
_METRICS: dict[str, tuple[Values | None, bool, bool]] = {
    "success_ratio": (None, False, False),
    "latency": (_durations, True, True),
    "time_to_first_token": (_ttfts, True, True),
    "time_per_output_token": (_tpots, True, True),
    "cost_per_call": (_costs, True, True),
}


def _stats(values: Values | None, results: Sequence[ProbeResult]) -> SufficientStats:
    if values is None:
        return Proportion.from_outcomes(r.success for r in results)
    return Mean.from_values(values(results))


def _margins(
    gate: Gate,
    label: str,
    own: Sequence[ProbeResult],
    baseline: Arm,
    theirs: Sequence[ProbeResult],
    *,
    alpha: float,
) -> list[Outcome]:
    out = []
    for metric, (values, relative, lower) in _METRICS.items():
        margin = getattr(gate.margins, metric)
        if margin is None:
            continue
        result = non_inferiority_test(
            _stats(values, theirs),
            _stats(values, own),
            margin=margin,
            relative=relative,
            lower_is_better=lower,
            alpha=alpha,
        )
        outcome = _margin_outcome(
            label, metric, baseline.label, result, margin=margin, relative=relative
        )
        out.append(outcome)
    return out


def _pct(x: float, *, relative: bool) -> str:
    return f"{x * 100:+.1f}%" if relative else f"{x * 100:+.1f} points"


def _margin_outcome(
    label: str,
    metric: str,
    baseline: str,
    result: NonInferiority | Guard,
    *,
    margin: float,
    relative: bool,
) -> Outcome:
    name = f"non_inferiority.{metric}"
    limit = f"worse by < {margin * 100:g}{'%' if relative else ' points'}"
    if isinstance(result, Guard):
        message = f"{name}: cannot compare with {baseline}: {result.value}"
        values = {"baseline": baseline, "margin": margin, "guard": result.value}
        return Outcome(label, name, False, result.value, limit, message, values)
    lo, hi = result.ci
    observed = (
        f"{_pct(result.lift, relative=relative)} "
        f"[{_pct(lo, relative=relative)}, {_pct(hi, relative=relative)}] p={result.p_value:.3g}"
    )
    verdict = "within" if result.non_inferior else "not shown within"
    message = (
        f"{name}: {observed} against {baseline}; {verdict} the margin "
        f"(worse by at most {margin * 100:g}{'%' if relative else ' points'})"
    )
    values = {
        "baseline": baseline,
        "margin": margin,
        "relative": relative,
        "lift": result.lift,
        "ci": list(result.ci),
        "p_value": result.p_value,
        "harm_bound": result.harm_bound,
    }
    return Outcome(label, name, result.non_inferior, observed, limit, message, values)


def budget_outcome(*, started: int, planned: int, stopped_by: str | None, cost: float) -> Outcome:
    """The budget as an outcome: it fails when it cut the run short."""
    observed = f"{started} of {planned} calls, ${cost:.4g}"
    if stopped_by is None:
        message = f"budget: {observed}"
    else:
        message = f"budget: {stopped_by} reached after {started} of {planned} planned calls"
    values = {"calls": started, "planned": planned, "cost": cost, "stopped_by": stopped_by}
    limit = stopped_by or "-"
    return Outcome("budget", "budget", stopped_by is None, observed, limit, message, values)
