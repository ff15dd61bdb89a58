"""Bayesian comparison: gbstats' Gaussian effect model (``EffectBayesianABTest``).

The observed difference ``Δ̂`` (relative or absolute, with the variance ``σ̂²`` of
:mod:`aiwatch.stats.frequentist`) is treated as ``Δ̂ ~ N(Δ, σ̂²)``. With a Gaussian prior
``Δ ~ N(μ₀, σ₀²)`` the posterior is normal with precision ``1/σ̂² + 1/σ₀²`` and mean
``(Δ̂/σ̂² + μ₀/σ₀²) / precision``; with the flat (improper) prior it is ``N(Δ̂, σ̂²)``.

From the posterior ``N(m, s²)``:

* chance to win ``P(Δ > 0) = Φ(m/s)`` (``P(Δ < 0)`` when lower is better);
* credible interval ``m + s Φ⁻¹(α/2)`` to ``m + s Φ⁻¹(1 - α/2)``;
* risk (expected loss) of keeping the control ``E[max(Δ, 0)] = s g(m/s)`` and of shipping the
  variant ``E[max(-Δ, 0)] = s g(-m/s)``, ``g(x) = x Φ(x) + φ(x)``, swapped when lower is
  better. gbstats gets the same numbers from truncated-normal means; the closed form here is
  evaluated through the scaled complementary error function so that small risks keep their
  digits.

The prior is on the relative scale (as GrowthBook's metric priors are); for an absolute
difference it is rescaled by the control mean, exactly as gbstats does.
"""

import math
from dataclasses import dataclass

from scipy import special

from aiwatch.stats.frequentist import difference, difference_variance
from aiwatch.stats.guards import Guard, all_finite, check_pair, constant_lift, guarded
from aiwatch.stats.sufficient import SufficientStats

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)


@dataclass(frozen=True, slots=True)
class GaussianPrior:
    """A normal prior on the relative lift; ``proper=False`` is the flat (improper) prior."""

    mean: float = 0.0
    variance: float = 1.0
    proper: bool = False


FLAT = GaussianPrior()


@dataclass(frozen=True, slots=True)
class Posterior:
    """A Bayesian comparison of a variant with the control."""

    lift: float
    """Posterior mean of the difference."""
    ci: tuple[float, float]
    """Equal-tailed credible interval."""
    chance_to_win: float
    risk: tuple[float, float]
    """Expected loss of ``(keeping the control, shipping the variant)``."""
    stddev: float
    """Posterior standard deviation."""


def expected_positive_part(mu: float, sigma: float) -> float:
    """``E[max(X, 0)]`` for ``X ~ N(mu, sigma²)``, accurate far into either tail."""
    x = mu / sigma
    if x >= 0:
        return sigma * (x * float(special.ndtr(x)) + _INV_SQRT_2PI * math.exp(-0.5 * x * x))
    t = -x
    mills = _SQRT_HALF_PI * float(special.erfcx(t / math.sqrt(2.0)))
    return sigma * _INV_SQRT_2PI * math.exp(-0.5 * t * t) * max(0.0, 1.0 - t * mills)


def exact_posterior(lift: float, *, lower_is_better: bool) -> Posterior:
    """Two constant arms: all the posterior's mass is on the observed difference."""
    wins = lift < 0 if lower_is_better else lift > 0
    gain = abs(lift)
    # Risk of (keeping the control, shipping the variant): the gain forgone, or the loss taken.
    risk = (gain, 0.0) if wins else (0.0, gain)
    return Posterior(
        lift=lift, ci=(lift, lift), chance_to_win=1.0 if wins else 0.0, risk=risk, stddev=0.0
    )


@guarded
def effect_bayesian(
    control: SufficientStats,
    variant: SufficientStats,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    prior: GaussianPrior = FLAT,
    lower_is_better: bool = False,
) -> Posterior | Guard:
    """gbstats ``EffectBayesianABTest`` with a relative-scale prior.

    Two constant arms with different means need no prior: the data's variance is zero, so the
    posterior is all on the observed difference (:func:`exact_posterior`).
    """
    if (guard := check_pair(control, variant, relative=relative)) is not None:
        lift = constant_lift(control, variant, relative=relative)
        if guard is Guard.ZERO_VARIANCE and lift is not None:
            return exact_posterior(lift, lower_is_better=lower_is_better)
        return guard
    if prior.proper and not (all_finite(prior.mean, prior.variance) and prior.variance > 0):
        return Guard.INVALID_INPUT
    if prior.proper and not relative:
        if control.mean == 0:
            return Guard.CONTROL_MEAN_NOT_POSITIVE
        prior = GaussianPrior(
            mean=prior.mean * abs(control.mean),
            variance=prior.variance * control.mean * control.mean,
            proper=True,
        )
    data_mean = difference(control.mean, variant.mean, relative=relative)
    data_variance = difference_variance(control, variant, relative=relative)
    if not (all_finite(data_mean, data_variance) and data_variance > 0):
        return Guard.NUMERICAL_OVERFLOW
    if prior.proper:
        precision = 1.0 / data_variance + 1.0 / prior.variance
        mean = (data_mean / data_variance + prior.mean / prior.variance) / precision
    else:
        precision = 1.0 / data_variance
        mean = data_mean
    stddev = math.sqrt(1.0 / precision)
    if not (all_finite(mean, stddev) and stddev > 0):
        return Guard.NUMERICAL_OVERFLOW
    z = mean / stddev
    chance_to_win = float(special.ndtr(-z if lower_is_better else z))
    half = -float(special.ndtri(alpha / 2.0)) * stddev
    risk_control = expected_positive_part(mean, stddev)
    risk_variant = expected_positive_part(-mean, stddev)
    risk = (risk_variant, risk_control) if lower_is_better else (risk_control, risk_variant)
    ci = (mean - half, mean + half)
    if not all_finite(chance_to_win, *ci, *risk):
        return Guard.NUMERICAL_OVERFLOW
    return Posterior(lift=mean, ci=ci, chance_to_win=chance_to_win, risk=risk, stddev=stddev)
