"""Non-inferiority: is a candidate no worse than its baseline by more than a stated margin?

The question of a release gate is not "is the candidate different?" but "is it not worse by
more than ``m``?" (latency at most 10% worse, success at most 1 point worse). With the lift
``Δ`` of :mod:`aiwatch.stats.frequentist` (relative or absolute, the same variance and
Welch–Satterthwaite degrees of freedom), the harm ``h`` is ``Δ`` when lower is better and
``−Δ`` otherwise, and the one-sided test is

* ``H₀: h ≥ m`` (worse by at least the margin) against ``H₁: h < m``;
* ``t = (m − h) / se``, ``p = P(T_ν > t)``; non-inferior when ``p < α``;
* the interval shown is the two-sided ``1 − 2α`` one on ``Δ`` (the CONSORT convention): its
  harm-side bound is the one-sided ``1 − α`` bound, so non-inferior exactly when that bound
  stays inside the margin.

With ``sequential_tuning`` the interval is gbstats' asymptotic confidence sequence (see
:mod:`aiwatch.stats.sequential`) at ``2α``, valid at every sample size, and ``p`` the matching
one-sided e-value p-value, so the answer may be read at any time.

One constant arm (every call succeeded) contributes no variance, as the sums say; two constant
arms give the exact harm, a zero-width interval and ``p`` of 0 or 1.
"""

import math
from dataclasses import dataclass

from scipy import special

from aiwatch.stats.frequentist import delta_variance, difference, t_quantile
from aiwatch.stats.guards import (
    Guard,
    all_finite,
    check_pair,
    constant_lift,
    guarded,
    is_constant,
)
from aiwatch.stats.sequential import rho_squared
from aiwatch.stats.sufficient import SufficientStats


@dataclass(frozen=True, slots=True)
class NonInferiority:
    """The candidate against its baseline on one metric, with its margin."""

    lift: float
    """The candidate's (relative or absolute) difference from the baseline."""
    ci: tuple[float, float]
    """Two-sided ``1 − 2α`` interval of ``lift`` (a confidence sequence when sequential)."""
    p_value: float
    """One-sided, against "worse by at least the margin"."""
    margin: float
    """The largest harm tolerated, on the scale of ``lift`` (as a positive number)."""
    harm: float
    """How much worse the candidate looks: ``lift`` or ``−lift`` (negative when better)."""
    harm_bound: float
    """The interval's bound on the harmful side, as a harm: compare it with ``margin``."""
    non_inferior: bool
    """``p_value < α``: the candidate is shown to be worse by less than ``margin``."""


def _result(
    lift: float, width: float, p: float, *, margin: float, sign: float, alpha: float
) -> NonInferiority:
    harm = sign * lift + 0.0  # + 0.0: no "-0.0" harm for equal arms
    return NonInferiority(
        lift=lift,
        ci=(lift - width, lift + width),
        p_value=p,
        margin=margin,
        harm=harm,
        harm_bound=harm + width,
        non_inferior=p < alpha,
    )


@guarded
def non_inferiority_test(
    baseline: SufficientStats,
    candidate: SufficientStats,
    *,
    margin: float,
    relative: bool = True,
    lower_is_better: bool = False,
    alpha: float = 0.05,
    sequential_tuning: float | None = None,
) -> NonInferiority | Guard:
    """Whether ``candidate`` is worse than ``baseline`` by less than ``margin``.

    ``margin`` is relative (0.1 = 10 %) when ``relative``, else in the metric's unit (0.01 =
    one point of a rate). ``sequential_tuning`` (the ``N*`` of the sequential method) makes
    the answer valid at any sample size.
    """
    if not (math.isfinite(margin) and margin >= 0 and 0 < alpha < 0.5):
        return Guard.INVALID_INPUT
    sign = 1.0 if lower_is_better else -1.0
    guard = check_pair(baseline, candidate, relative=relative)
    if guard is Guard.ZERO_VARIANCE:
        exact = constant_lift(baseline, candidate, relative=relative, different=False)
        if exact is not None:
            p = 0.0 if sign * exact < margin else 1.0
            return _result(exact, 0.0, p, margin=margin, sign=sign, alpha=alpha)
        if not (_usable(baseline) and _usable(candidate)):
            return guard
    elif guard is not None:
        return guard
    lift = difference(baseline.mean, candidate.mean, relative=relative)
    variance, dof = _variance_and_dof(baseline, candidate, relative=relative)
    if not (all_finite(lift, variance, dof) and variance > 0 and dof > 0):
        return Guard.NUMERICAL_OVERFLOW
    se = math.sqrt(variance)
    harm = sign * lift
    if sequential_tuning is None:
        p = float(special.stdtr(dof, -(margin - harm) / se))
        width = t_quantile(1.0 - alpha, dof) * se
    else:
        total = float(baseline.n + candidate.n)
        p, width = _sequential(harm - margin, variance, total, alpha, sequential_tuning)
    if not all_finite(p, lift - width, lift + width):
        return Guard.NUMERICAL_OVERFLOW
    return _result(lift, width, p, margin=margin, sign=sign, alpha=alpha)


def _usable(stats: SufficientStats) -> bool:
    """An arm that is constant (within rounding) or has a real spread: not inconsistent sums."""
    return is_constant(stats) or stats.variance > 0


def _variance_and_dof(
    baseline: SufficientStats, candidate: SufficientStats, *, relative: bool
) -> tuple[float, float]:
    """The lift's variance and Welch's degrees of freedom, a constant arm counting as 0."""
    var_a = 0.0 if is_constant(baseline) else baseline.variance
    var_b = 0.0 if is_constant(candidate) else candidate.variance
    variance = delta_variance(
        var_a=var_a,
        mean_a=baseline.mean,
        n_a=baseline.n,
        var_b=var_b,
        mean_b=candidate.mean,
        n_b=candidate.n,
        relative=relative,
    )
    v_a, v_b = var_a / baseline.n, var_b / candidate.n
    dof = (v_a + v_b) * (v_a + v_b) / (v_b * v_b / (candidate.n - 1) + v_a * v_a / (baseline.n - 1))
    return variance, dof


def _sequential(
    excess: float, variance: float, total: float, alpha: float, tuning: float
) -> tuple[float, float]:
    """One-sided p-value of ``harm − margin = excess`` and the ``2α`` sequence half-width.

    The confidence sequence at level ``a`` is exactly the set of differences whose e-value
    stays below ``1/a``; so the bound is inside the margin at ``2α`` exactly when half the
    two-sided e-value p-value at the margin is below ``α``.
    """
    r2 = rho_squared(alpha=2.0 * alpha, tuning=tuning)
    tr2p1 = total * r2 + 1.0
    width = math.sqrt(variance * total) * math.sqrt(
        2.0 * tr2p1 * math.log(math.sqrt(tr2p1) / (2.0 * alpha)) / (total * total * r2)
    )
    log_e = r2 * (excess * excess * total / variance) / (2.0 * tr2p1) - 0.5 * math.log(tr2p1)
    two_sided = 1.0 if log_e <= 0 else math.exp(-log_e)
    return (two_sided / 2.0 if excess < 0 else 1.0 - two_sided / 2.0), width
