"""Non-inferiority: is a candidate no worse than a baseline by more than a stated margin?

The harm ``h`` is the candidate's difference from the baseline in the bad direction: the lift
for a metric whose goal is ``decrease`` (latency, cost), minus the lift for ``increase``
(success rate). With an interval ``[h_lo, h_hi]`` for ``h`` and the margin ``m`` (in the
difference's unit: a fraction of the baseline mean for ``relative``, the metric's own unit for
``absolute``):

* ``pass`` when ``h_hi < m``: the candidate is worse by less than the margin, if at all;
* ``fail`` when ``h_lo > m``: it is worse by more than the margin;
* ``inconclusive`` otherwise, with the samples per arm that would settle it at the current
  estimate and spread.

Two intervals:

* ``sequential=True``: the always-valid confidence sequence of
  :mod:`aiwatch.stats.sequential` at level ``alpha`` (two-sided). It covers the true harm at
  every sample size at once with probability ``1 - alpha``, so the decision may be read at any
  time, as often as wanted: a wrong ``pass`` (true harm above the margin) or a wrong
  ``fail`` (true harm below it) needs the sequence to miss the true value, which happens with
  probability at most ``alpha`` over the whole run.
* ``sequential=False``: the fixed-horizon one-sided Welch test at ``alpha`` (the interval is
  the two-sided ``1 - 2 alpha`` one), to be read once at a planned sample size.

Proportions use the Agresti–Caffo variance (one success and one failure added to each arm for
the variance only), so that an arm with no failures yet does not claim a spread of zero
(Agresti & Caffo, "Simple and effective confidence intervals for proportions and differences
of proportions", The American Statistician 54, 2000).

Arms that are constant (a variance below ``1e-12`` of the squared mean, as float round-off
leaves it) have an exact difference: when both are constant the harm is known, and the
decision is read from it directly; ``constant: true`` says so.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from scipy import special

from aiwatch.stats.frequentist import delta_variance, difference, t_quantile
from aiwatch.stats.guards import Guard, check_arm
from aiwatch.stats.sequential import rho_squared
from aiwatch.stats.sufficient import Proportion, SufficientStats

Decision = Literal["pass", "fail", "inconclusive"]
Goal = Literal["increase", "decrease"]

RELATIVE_TOLERANCE = 1e-12
"""A variance below this fraction of the squared mean is round-off: the arm is constant."""
MAX_SAMPLES = 10**9
"""The search for the samples needed stops here (the answer is then "more than this")."""


@dataclass(frozen=True, slots=True)
class NonInferiority:
    """The candidate against the baseline on one metric."""

    decision: Decision
    margin: float
    harm: float | None = None
    """The estimated harm: how much worse the candidate is (negative: better)."""
    ci: tuple[float, float] | None = None
    """The interval for the harm."""
    p_value: float | None = None
    """For the null "the harm is at least the margin" (small: non-inferior)."""
    samples_needed: int | None = None
    """More samples per arm that would settle an inconclusive result at the current estimate."""
    constant: bool = False
    guard: Guard | None = None

    def to_json(self) -> dict[str, Any]:
        """The result's fields as JSON."""
        return {
            "decision": self.decision,
            "margin": self.margin,
            "harm": self.harm,
            "ci": list(self.ci) if self.ci is not None else None,
            "p_value": self.p_value,
            "samples_needed": self.samples_needed,
            "constant": self.constant,
            "guard": self.guard.value if self.guard is not None else None,
        }


def non_inferiority(
    baseline: SufficientStats,
    candidate: SufficientStats,
    *,
    margin: float,
    goal: Goal,
    relative: bool = True,
    alpha: float = 0.05,
    sequential: bool = True,
    tuning: float = 5000.0,
) -> NonInferiority:
    """Decide whether ``candidate`` is worse than ``baseline`` by less than ``margin``."""
    for arm in (baseline, candidate):
        if (guard := check_arm(arm)) is not None:
            return NonInferiority("inconclusive", margin, guard=guard)
    if relative and baseline.mean <= 0:
        return NonInferiority("inconclusive", margin, guard=Guard.CONTROL_MEAN_NOT_POSITIVE)
    sign = 1.0 if goal == "decrease" else -1.0
    harm = 0.0 + sign * difference(baseline.mean, candidate.mean, relative=relative)
    var_a, var_b = _variance(baseline), _variance(candidate)
    if _constant(baseline, var_a) and _constant(candidate, var_b):
        decision: Decision = (
            "pass" if harm < margin else "fail" if harm > margin else "inconclusive"
        )
        return NonInferiority(decision, margin, harm=harm, ci=(harm, harm), constant=True)
    unit = delta_variance(
        var_a=var_a,
        mean_a=baseline.mean,
        n_a=1.0,
        var_b=var_b,
        mean_b=candidate.mean,
        n_b=1.0,
        relative=relative,
    )
    variance = delta_variance(
        var_a=var_a,
        mean_a=baseline.mean,
        n_a=baseline.n,
        var_b=var_b,
        mean_b=candidate.mean,
        n_b=candidate.n,
        relative=relative,
    )
    if not (math.isfinite(harm) and math.isfinite(variance) and variance > 0):
        return NonInferiority("inconclusive", margin, guard=Guard.NUMERICAL_OVERFLOW)
    total = float(baseline.n + candidate.n)
    if sequential:
        width = _cs_half_width(variance, total, alpha=alpha, tuning=tuning)
        p_value = _cs_p_value(margin - harm, variance, total, alpha=alpha, tuning=tuning)
    else:
        dof = _dof(baseline.n, var_a, candidate.n, var_b)
        width = t_quantile(1.0 - alpha, dof) * math.sqrt(variance)
        p_value = float(special.stdtr(dof, -(margin - harm) / math.sqrt(variance)))
    ci = (harm - width, harm + width)
    decision = _decide(ci, margin)
    needed = None
    if decision == "inconclusive":
        per_arm = _per_arm_needed(
            unit, abs(margin - harm), alpha=alpha, sequential=sequential, tuning=tuning
        )
        needed = max(0, per_arm - min(baseline.n, candidate.n))
    return NonInferiority(
        decision, margin, harm=harm, ci=ci, p_value=p_value, samples_needed=needed
    )


def _decide(ci: tuple[float, float], margin: float) -> Decision:
    if ci[1] < margin:
        return "pass"
    return "fail" if ci[0] > margin else "inconclusive"


def _dof(n_a: int, var_a: float, n_b: int, var_b: float) -> float:
    """Welch–Satterthwaite degrees of freedom on the (adjusted) variances."""
    v_a, v_b = var_a / n_a, var_b / n_b
    return (v_a + v_b) * (v_a + v_b) / (v_a * v_a / (n_a - 1) + v_b * v_b / (n_b - 1))


def _variance(arm: SufficientStats) -> float:
    if isinstance(arm, Proportion):
        p = (arm.successes + 1.0) / (arm.n + 2.0)
        return p * (1.0 - p)
    return max(arm.variance, 0.0)


def _constant(arm: SufficientStats, variance: float) -> bool:
    if isinstance(arm, Proportion):
        return False  # the adjusted variance is never zero
    return variance <= RELATIVE_TOLERANCE * arm.mean * arm.mean


def _cs_half_width(variance: float, total: float, *, alpha: float, tuning: float) -> float:
    """Half-width of the confidence sequence (eq. 9 of Waudby-Smith et al.)."""
    r2 = rho_squared(alpha=alpha, tuning=tuning)
    tr2p1 = total * r2 + 1.0
    return math.sqrt(variance * total) * math.sqrt(
        2.0 * tr2p1 * math.log(math.sqrt(tr2p1) / alpha) / (total * total * r2)
    )


def _cs_p_value(gap: float, variance: float, total: float, *, alpha: float, tuning: float) -> float:
    """Always-valid p-value for "harm = margin", one-sided towards non-inferiority."""
    if gap <= 0:
        return 1.0
    r2 = rho_squared(alpha=alpha, tuning=tuning)
    tr2p1 = total * r2 + 1.0
    log_e = r2 * (gap * gap * total / variance) / (2.0 * tr2p1) - 0.5 * math.log(tr2p1)
    return 1.0 if log_e <= 0 else math.exp(-log_e)


def _per_arm_needed(
    unit: float, gap: float, *, alpha: float, sequential: bool, tuning: float
) -> int:
    """The smallest per-arm ``n`` whose half-width is below ``gap`` (equal arms, same spread)."""
    if gap <= 0:
        return MAX_SAMPLES

    def width(n: int) -> float:
        if sequential:
            return _cs_half_width(unit / n, 2.0 * n, alpha=alpha, tuning=tuning)
        return t_quantile(1.0 - alpha, max(2.0 * n - 2.0, 1.0)) * math.sqrt(unit / n)

    return _smallest(width, gap)


def _smallest(width: Callable[[int], float], gap: float) -> int:
    """The smallest ``n`` (doubling, then bisecting) with ``width(n) < gap``."""
    high = 2
    while width(high) >= gap:
        if high >= MAX_SAMPLES:
            return MAX_SAMPLES
        high = min(high * 2, MAX_SAMPLES)
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if width(mid) < gap else (mid, high)
    return high


def against_threshold(
    arm: SufficientStats,
    *,
    threshold: float,
    goal: Goal,
    alpha: float = 0.05,
    tuning: float = 5000.0,
) -> NonInferiority:
    """One arm against a fixed value, with the one-sample confidence sequence.

    ``pass`` when the whole interval for the mean is on the good side of ``threshold``
    (below it for ``decrease``), ``fail`` when it is wholly on the bad side. The result's
    ``harm`` is how far the mean is on the bad side (negative: on the good side), and its
    ``margin`` is 0.
    """
    if (guard := check_arm(arm)) is not None:
        return NonInferiority("inconclusive", 0.0, guard=guard)
    sign = 1.0 if goal == "decrease" else -1.0
    harm = 0.0 + sign * (arm.mean - threshold)
    variance = _variance(arm)
    if _constant(arm, variance):
        exact = (harm, harm)
        return NonInferiority(_decide(exact, 0.0), 0.0, harm=harm, ci=exact, constant=True)
    width = _cs_half_width(variance / arm.n, float(arm.n), alpha=alpha, tuning=tuning)
    ci = (harm - width, harm + width)
    decision = _decide(ci, 0.0)
    needed = None
    if decision == "inconclusive":
        needed = max(0, _one_sample_needed(variance, abs(harm), alpha, tuning) - arm.n)
    p_value = _cs_p_value(-harm, variance / arm.n, float(arm.n), alpha=alpha, tuning=tuning)
    return NonInferiority(decision, 0.0, harm=harm, ci=ci, p_value=p_value, samples_needed=needed)


def _one_sample_needed(variance: float, gap: float, alpha: float, tuning: float) -> int:
    """The smallest ``n`` whose one-sample half-width is below ``gap``."""
    if gap <= 0:
        return MAX_SAMPLES
    return _smallest(
        lambda n: _cs_half_width(variance / n, float(n), alpha=alpha, tuning=tuning), gap
    )
