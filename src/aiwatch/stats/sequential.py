"""Always-valid (sequential) testing: gbstats' asymptotic confidence sequences.

Waudby-Smith et al., "Time-uniform central limit theory and asymptotic confidence sequences"
(arXiv:2103.06476v7). With ``N = n_a + n_b`` the total sample, ``σ̂²`` the variance of the
difference (as in :mod:`aiwatch.stats.frequentist`) and the tuning parameter ``N*`` (the total
sample at which the interval is tightest):

* ``ρ² = (-2 ln α + ln(-2 ln α + 1)) / N*``  (their eq. 161);
* half-width ``√(N σ̂²) · √(2 (N ρ² + 1) ln(√(N ρ² + 1) / α) / (N ρ)²)``  (eq. 9);
* ``p = min(1, 1/E)`` with the e-value ``E = exp(ρ² S / (2 (N ρ² + 1))) / √(N ρ² + 1)``,
  ``S = N Δ² / σ̂²``  (eq. 155).

The interval holds at every sample size simultaneously, so the results may be looked at as
often as wanted. The e-value is evaluated in log space so that it never overflows.
"""

import math

from aiwatch.stats.frequentist import (
    Estimate,
    difference,
    difference_variance,
    guard_or_exact,
    welch_dof,
)
from aiwatch.stats.guards import Guard, all_finite, check_pair, guarded
from aiwatch.stats.sufficient import SufficientStats


def rho_squared(*, alpha: float, tuning: float) -> float:
    """``ρ²`` of the normal-mixture boundary tuned to be tightest at ``tuning`` samples."""
    log_alpha = math.log(alpha)
    return (-2.0 * log_alpha + math.log(-2.0 * log_alpha + 1.0)) / tuning


@guarded
def sequential_ttest(
    control: SufficientStats,
    variant: SufficientStats,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    tuning: float = 5000.0,
) -> Estimate | Guard:
    """gbstats ``SequentialTwoSidedTTest``: an always-valid interval and p-value."""
    if (guard := check_pair(control, variant, relative=relative)) is not None:
        return guard_or_exact(guard, control, variant, relative=relative)
    lift = difference(control.mean, variant.mean, relative=relative)
    variance = difference_variance(control, variant, relative=relative)
    dof = welch_dof(control, variant)
    if not (all_finite(lift, variance, dof) and variance > 0):
        return Guard.NUMERICAL_OVERFLOW
    total = float(control.n + variant.n)
    r2 = rho_squared(alpha=alpha, tuning=tuning)
    tr2p1 = total * r2 + 1.0
    width = math.sqrt(variance * total) * math.sqrt(
        2.0 * tr2p1 * math.log(math.sqrt(tr2p1) / alpha) / (total * total * r2)
    )
    st2 = lift * lift * total / variance
    log_e = r2 * st2 / (2.0 * tr2p1) - 0.5 * math.log(tr2p1)
    p_value = 1.0 if log_e <= 0 else math.exp(-log_e)
    ci = (lift - width, lift + width)
    if not all_finite(p_value, *ci):
        return Guard.NUMERICAL_OVERFLOW
    return Estimate(lift=lift, ci=ci, p_value=p_value, stddev=math.sqrt(variance), dof=dof)
