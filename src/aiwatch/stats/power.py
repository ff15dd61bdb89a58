"""Power: how many samples per arm a minimum effect needs, and the power reached so far.

gbstats 0.8 has no power module, so these are the standard normal-approximation formulas for
a two-sided test at level ``α`` (Chow, Shao & Wang, *Sample Size Calculations in Clinical
Research*, ch. 3; Kohavi, Tang & Xu, *Trustworthy Online Controlled Experiments*, ch. 17),
using the same variance of the difference as the tests:

* per-unit variance of the difference with one unit in each arm:
  ``v = s²_a + s²_b`` (absolute) or ``v = s²_b/x̄_a² + s²_a x̄_b²/x̄_a⁴`` (relative, delta method);
* sample size per arm for a minimum effect ``δ`` at power ``1 - β``: the smallest ``n`` whose
  power (next line, with ``se = √(v/n)``) reaches ``1 - β``; the textbook
  ``(z_{1-α/2} + z_{1-β})² v / δ²`` drops the far tail and is used as the upper bracket;
* power reached with the current samples, ``se`` the standard error of the difference:
  ``Φ(|δ|/se - z_{1-α/2}) + Φ(-|δ|/se - z_{1-α/2})``.

The variances are the ones observed so far (plug-in). The level is the unadjusted ``α``; with a
multiple-testing correction or sequential testing the real need is somewhat larger, so treat
the figure as a lower bound there.
"""

import math
from dataclasses import dataclass

from scipy import optimize, special

from aiwatch.stats.frequentist import delta_variance, difference_variance
from aiwatch.stats.guards import Guard, all_finite, check_pair, guarded
from aiwatch.stats.sufficient import SufficientStats


@dataclass(frozen=True, slots=True)
class Power:
    """Where an arm stands against a minimum detectable effect."""

    minimum_effect: float
    power: float
    """Probability that the test detects ``minimum_effect`` at the current sample sizes."""
    n_per_arm: int
    """Samples per arm that ``minimum_effect`` needs at the target power."""
    samples_needed: int
    """How many more samples per arm are still needed (0 once reached)."""


def unit_variance(control: SufficientStats, variant: SufficientStats, *, relative: bool) -> float:
    """The variance of the difference with one unit in each arm."""
    return delta_variance(
        var_a=control.variance,
        mean_a=control.mean,
        n_a=1.0,
        var_b=variant.variance,
        mean_b=variant.mean,
        n_b=1.0,
        relative=relative,
    )


def samples_per_arm(unit_var: float, *, minimum_effect: float, alpha: float, power: float) -> float:
    """Samples per arm at which the two-sided power reaches ``power``, not yet rounded up.

    The closed form ``(z_{1-α/2} + z_{power})² v / δ²`` ignores the far rejection region, so
    it is an upper bound; the exact size (both tails, as statsmodels' ``NormalIndPower``) is
    found below it by Brent's method.
    """
    z = float(special.ndtri(1.0 - alpha / 2.0)) + float(special.ndtri(power))
    upper = z * z * unit_var / (minimum_effect * minimum_effect)
    if not (math.isfinite(upper) and upper > 0):
        return upper

    def shortfall(n: float) -> float:
        return power_at(math.sqrt(unit_var / n), minimum_effect=minimum_effect, alpha=alpha) - power

    lower = upper * 1e-3
    if shortfall(upper) <= 0 or shortfall(lower) >= 0:
        return upper
    return float(optimize.brentq(shortfall, lower, upper, xtol=1e-9 * upper, rtol=1e-12))


def power_at(stddev: float, *, minimum_effect: float, alpha: float) -> float:
    """Two-sided power to detect ``minimum_effect`` when the difference has error ``stddev``."""
    z = float(special.ndtri(1.0 - alpha / 2.0))
    shift = abs(minimum_effect) / stddev
    return float(special.ndtr(shift - z) + special.ndtr(-shift - z))


@guarded
def power_analysis(
    control: SufficientStats,
    variant: SufficientStats,
    *,
    minimum_effect: float,
    relative: bool = True,
    alpha: float = 0.05,
    target_power: float = 0.8,
) -> Power | Guard:
    """Samples per arm needed for ``minimum_effect`` and the power already reached."""
    if (guard := check_pair(control, variant, relative=relative)) is not None:
        return guard
    if not (math.isfinite(minimum_effect) and minimum_effect != 0):
        return Guard.INVALID_INPUT
    unit_var = unit_variance(control, variant, relative=relative)
    current_var = difference_variance(control, variant, relative=relative)
    if not (all_finite(unit_var, current_var) and current_var > 0):
        return Guard.NUMERICAL_OVERFLOW
    needed = samples_per_arm(
        unit_var, minimum_effect=minimum_effect, alpha=alpha, power=target_power
    )
    reached = power_at(math.sqrt(current_var), minimum_effect=minimum_effect, alpha=alpha)
    if not all_finite(needed, reached):
        return Guard.NUMERICAL_OVERFLOW
    n_per_arm = max(2, math.ceil(needed))
    return Power(
        minimum_effect=minimum_effect,
        power=reached,
        n_per_arm=n_per_arm,
        samples_needed=max(0, n_per_arm - min(control.n, variant.n)),
    )
