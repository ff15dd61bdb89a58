"""Fixed-horizon frequentist comparison: the two-sided Welch t-test of gbstats.

For control ``a`` and variant ``b`` with means ``x̄``, variances ``s²`` and sizes ``n``:

* absolute difference ``Δ = x̄_b - x̄_a``, variance ``s²_b/n_b + s²_a/n_a``;
* relative difference ``Δ = (x̄_b - x̄_a)/x̄_a``, delta-method variance
  ``s²_b/(x̄_a² n_b) + s²_a x̄_b²/(x̄_a⁴ n_a)``;
* Welch–Satterthwaite degrees of freedom (on the absolute variances, for both differences);
* ``p = 2 P(T_ν > |Δ|/se)``, ``CI = Δ ± t_{ν,1-α/2} se``.

gbstats computes the p-value as ``2 (1 - cdf)``; here it is the survival function, which is
the same number except that it keeps its digits below about 1e-10 (as scipy's own t-tests do).
"""

import math
from dataclasses import dataclass

from scipy import special

from aiwatch.stats.guards import Guard, all_finite, check_pair, constant_lift, guarded
from aiwatch.stats.sufficient import SufficientStats


@dataclass(frozen=True, slots=True)
class Estimate:
    """A frequentist comparison of a variant with the control."""

    lift: float
    """The point estimate of the (relative or absolute) difference."""
    ci: tuple[float, float]
    p_value: float
    stddev: float
    """Standard error of ``lift``."""
    dof: float
    """Welch–Satterthwaite degrees of freedom."""

    @classmethod
    def exact(cls, lift: float, *, n: int) -> "Estimate":
        """Two constant arms: the lift is known, its interval has no width and ``p = 0``."""
        return cls(lift=lift, ci=(lift, lift), p_value=0.0, stddev=0.0, dof=float(n - 2))


def guard_or_exact(
    guard: Guard, control: SufficientStats, variant: SufficientStats, *, relative: bool
) -> Estimate | Guard:
    """``guard``, unless it is ``zero_variance`` of two constant arms with different means."""
    if guard is Guard.ZERO_VARIANCE:
        lift = constant_lift(control, variant, relative=relative)
        if lift is not None:
            return Estimate.exact(lift, n=control.n + variant.n)
    return guard


def difference(control_mean: float, variant_mean: float, *, relative: bool) -> float:
    """The variant's lift over the control."""
    if relative:
        return (variant_mean - control_mean) / control_mean
    return variant_mean - control_mean


def delta_variance(
    *,
    var_a: float,
    mean_a: float,
    n_a: float,
    var_b: float,
    mean_b: float,
    n_b: float,
    relative: bool,
) -> float:
    """The variance of the difference from each arm's variance, mean and size."""
    if relative:
        # Products, not powers: float ** raises OverflowError where * gives inf.
        a2 = mean_a * mean_a
        return var_b / (a2 * n_b) + var_a * (mean_b * mean_b) / (a2 * a2 * n_a)
    return var_b / n_b + var_a / n_a


def difference_variance(
    control: SufficientStats, variant: SufficientStats, *, relative: bool
) -> float:
    """The variance of :func:`difference`; the delta method for the relative one."""
    return delta_variance(
        var_a=control.variance,
        mean_a=control.mean,
        n_a=control.n,
        var_b=variant.variance,
        mean_b=variant.mean,
        n_b=variant.n,
        relative=relative,
    )


def welch_dof(control: SufficientStats, variant: SufficientStats) -> float:
    """Welch–Satterthwaite degrees of freedom of the two-sample comparison."""
    v_a = control.variance / control.n
    v_b = variant.variance / variant.n
    return (v_a + v_b) * (v_a + v_b) / (v_b * v_b / (variant.n - 1) + v_a * v_a / (control.n - 1))


def t_two_sided_p(statistic: float, dof: float) -> float:
    """``2 P(T_dof > |statistic|)``."""
    return float(2.0 * special.stdtr(dof, -abs(statistic)))


def t_quantile(q: float, dof: float) -> float:
    """The ``q`` quantile of Student's t with ``dof`` degrees of freedom."""
    return float(special.stdtrit(dof, q))


@guarded
def two_sided_ttest(
    control: SufficientStats,
    variant: SufficientStats,
    *,
    relative: bool = True,
    alpha: float = 0.05,
) -> Estimate | Guard:
    """Welch's two-sided t-test of ``variant`` against ``control`` (gbstats ``TwoSidedTTest``)."""
    if (guard := check_pair(control, variant, relative=relative)) is not None:
        return guard_or_exact(guard, control, variant, relative=relative)
    lift = difference(control.mean, variant.mean, relative=relative)
    variance = difference_variance(control, variant, relative=relative)
    dof = welch_dof(control, variant)
    if not (all_finite(lift, variance, dof) and variance > 0 and dof > 0):
        return Guard.NUMERICAL_OVERFLOW
    stddev = math.sqrt(variance)
    p_value = t_two_sided_p(lift / stddev, dof)
    width = t_quantile(1.0 - alpha / 2.0, dof) * stddev
    ci = (lift - width, lift + width)
    if not all_finite(p_value, *ci):
        return Guard.NUMERICAL_OVERFLOW
    return Estimate(lift=lift, ci=ci, p_value=p_value, stddev=stddev, dof=dof)
