"""Power: samples per arm for a minimum effect, and power reached, against statsmodels."""

import math

import pytest
from statsmodels.stats.power import NormalIndPower

from aiwatch.stats.guards import Guard
from aiwatch.stats.power import Power, power_analysis
from aiwatch.stats.sufficient import Mean, Proportion


def normal(n: int, mean: float, sd: float) -> Mean:
    """Sums of ``n`` values with this mean and sample standard deviation."""
    return Mean(n=n, sum=n * mean, sum_squares=(n - 1) * sd * sd + n * mean * mean)


def power(result: Power | Guard) -> Power:
    """The power result, failing the test on a guard."""
    assert isinstance(result, Power), result
    return result


@pytest.mark.parametrize(
    ("sd", "effect", "alpha", "target"),
    [(1.0, 0.1, 0.05, 0.8), (2.5, 0.3, 0.01, 0.9), (0.4, 0.02, 0.1, 0.5)],
)
def test_absolute_sample_size_and_power_match_statsmodels(
    sd: float, effect: float, alpha: float, target: float
) -> None:
    """With equal variances the absolute case is statsmodels' two-sample z-test power."""
    control, variant = normal(300, 5.0, sd), normal(300, 5.0, sd)
    got = power(
        power_analysis(
            control,
            variant,
            minimum_effect=effect,
            relative=False,
            alpha=alpha,
            target_power=target,
        )
    )
    solver = NormalIndPower()
    n = solver.solve_power(effect_size=effect / sd, alpha=alpha, power=target, ratio=1.0)
    assert got.n_per_arm == math.ceil(n)
    assert got.samples_needed == max(0, math.ceil(n) - 300)
    reached = solver.power(effect_size=effect / sd, nobs1=300, alpha=alpha, ratio=1.0)
    assert got.power == pytest.approx(reached, rel=1e-6)


def test_relative_sample_size_uses_the_delta_method_variance() -> None:
    """For a relative effect the per-unit variance is the delta-method one."""
    control, variant = Proportion(1000, 100), Proportion(1000, 120)
    got = power(power_analysis(control, variant, minimum_effect=0.1))
    unit = 0.12 * 0.88 / 0.1**2 + 0.1 * 0.9 * 0.12**2 / 0.1**4
    z = 1.959963984540054 + 0.8416212335729143
    assert got.n_per_arm == math.ceil(z * z * unit / 0.01)


def test_power_grows_and_samples_needed_shrink_with_n() -> None:
    """More data means more power and fewer samples still needed, down to zero."""
    results = [
        power(power_analysis(normal(n, 1.0, 0.5), normal(n, 1.0, 0.5), minimum_effect=0.05))
        for n in (100, 1000, 10_000)
    ]
    assert results[0].power < results[1].power < results[2].power
    assert results[0].samples_needed > results[1].samples_needed
    assert results[2].samples_needed == 0
    assert results[2].power > 0.8


def test_zero_minimum_effect_is_invalid() -> None:
    """A minimum effect of zero would need infinitely many samples: invalid input."""
    assert power_analysis(normal(100, 1, 1), normal(100, 1, 1), minimum_effect=0.0) is (
        Guard.INVALID_INPUT
    )
