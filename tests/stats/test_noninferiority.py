"""Non-inferiority against a margin: scipy's one-sided Welch test is the oracle."""

import math
import random

import pytest
from scipy import stats as scipy_stats

from aiwatch.stats.frequentist import Estimate, two_sided_ttest
from aiwatch.stats.guards import Guard
from aiwatch.stats.noninferiority import NonInferiority, non_inferiority_test
from aiwatch.stats.sufficient import Mean, Proportion

RNG = random.Random(20261206)


def sample(n: int, mean: float, sd: float) -> list[float]:
    """``n`` normal values."""
    return [RNG.gauss(mean, sd) for _ in range(n)]


@pytest.mark.parametrize(("shift", "margin"), [(0.0, 0.1), (0.05, 0.1), (0.3, 0.1), (-0.2, 0.0)])
def test_absolute_margin_matches_scipy_one_sided_welch(shift: float, margin: float) -> None:
    """Lower is better: p is scipy's Welch test of ``candidate − margin < baseline``."""
    base, cand = sample(200, 1.0, 0.1), sample(150, 1.0 + shift, 0.15)
    result = non_inferiority_test(
        Mean.from_values(base),
        Mean.from_values(cand),
        margin=margin,
        relative=False,
        lower_is_better=True,
    )
    assert isinstance(result, NonInferiority)
    oracle = scipy_stats.ttest_ind(
        [x - margin for x in cand], base, equal_var=False, alternative="less"
    )
    assert result.p_value == pytest.approx(oracle.pvalue, rel=1e-6, abs=1e-15)
    assert result.non_inferior is bool(oracle.pvalue < 0.05)
    # The harm-side bound of the 90% interval is inside the margin exactly when non-inferior.
    assert (result.harm_bound < margin) is result.non_inferior


def test_higher_is_better_mirrors_the_test() -> None:
    """For success (higher is better) the harm is the drop, tested against the margin."""
    base, cand = sample(300, 0.9, 0.05), sample(300, 0.895, 0.05)
    result = non_inferiority_test(
        Mean.from_values(base), Mean.from_values(cand), margin=0.01, relative=False
    )
    assert isinstance(result, NonInferiority)
    oracle = scipy_stats.ttest_ind(
        [x + 0.01 for x in cand], base, equal_var=False, alternative="greater"
    )
    assert result.p_value == pytest.approx(oracle.pvalue, rel=1e-6)
    assert result.harm == pytest.approx(-result.lift)


def test_zero_margin_is_half_the_two_sided_p() -> None:
    """With no margin and the estimate on the good side, p is half the two-sided t-test's."""
    base, cand = Mean.from_values(sample(80, 2.0, 0.4)), Mean.from_values(sample(90, 1.9, 0.4))
    two = two_sided_ttest(base, cand)
    one = non_inferiority_test(base, cand, margin=0.0, lower_is_better=True)
    assert isinstance(two, Estimate)
    assert isinstance(one, NonInferiority)
    assert one.lift == two.lift
    assert one.lift < 0
    assert one.p_value == pytest.approx(two.p_value / 2, rel=1e-9)


def test_thirty_percent_slower_fails_a_ten_percent_margin() -> None:
    """A 30% slower candidate is not within a 10% latency margin; a 2% slower one is."""
    base = Mean.from_values(sample(100, 1.0, 0.1))
    slow = non_inferiority_test(
        base, Mean.from_values(sample(100, 1.3, 0.13)), margin=0.1, lower_is_better=True
    )
    near = non_inferiority_test(
        base, Mean.from_values(sample(100, 1.02, 0.1)), margin=0.1, lower_is_better=True
    )
    assert isinstance(slow, NonInferiority)
    assert isinstance(near, NonInferiority)
    assert not slow.non_inferior
    assert slow.p_value > 0.5
    assert near.non_inferior


def test_sequential_interval_and_p_value_agree() -> None:
    """Sequentially, the bound is inside the margin exactly when p < alpha, at any n."""
    for n in (20, 50, 200, 1000, 5000):
        for shift in (-0.05, 0.0, 0.05, 0.08, 0.1, 0.15):
            base = Mean.from_values(sample(n, 1.0, 0.2))
            cand = Mean.from_values(sample(n, 1.0 + shift, 0.2))
            result = non_inferiority_test(
                base, cand, margin=0.1, lower_is_better=True, sequential_tuning=5000.0
            )
            fixed = non_inferiority_test(base, cand, margin=0.1, lower_is_better=True)
            assert isinstance(result, NonInferiority)
            assert isinstance(fixed, NonInferiority)
            assert (result.harm_bound < 0.1) is result.non_inferior
            # Read at any time costs width: never narrower than the fixed-horizon interval.
            assert result.harm_bound >= fixed.harm_bound


def test_one_constant_arm_still_gives_an_answer() -> None:
    """A baseline that never failed against a candidate failing 5%: a drop of 5 points."""
    result = non_inferiority_test(
        Proportion(400, 400), Proportion(400, 380), margin=0.01, relative=False
    )
    assert isinstance(result, NonInferiority)
    assert result.harm == pytest.approx(0.05)
    assert not result.non_inferior
    assert result.ci[0] < result.lift < result.ci[1]


def test_two_constant_arms_are_exact() -> None:
    """Equal constant arms are non-inferior with p = 0; a constant 3× cost fails with p = 1."""
    equal = non_inferiority_test(
        Proportion(50, 50), Proportion(70, 70), margin=0.01, relative=False
    )
    assert equal == NonInferiority(0.0, (0.0, 0.0), 0.0, 0.01, 0.0, 0.0, non_inferior=True)
    dear = non_inferiority_test(
        Mean.from_values([5e-7] * 33),
        Mean.from_values([1.5e-6] * 47),
        margin=0.1,
        lower_is_better=True,
    )
    assert isinstance(dear, NonInferiority)
    assert dear.lift == pytest.approx(2.0)
    assert dear.p_value == 1.0
    assert not dear.non_inferior


def test_bad_margins_and_degenerate_arms_are_guarded() -> None:
    """A negative or infinite margin, or a single sample, is a named guard, not an exception."""
    base, cand = Mean.from_values(sample(10, 1, 0.1)), Mean.from_values(sample(10, 1, 0.1))
    assert non_inferiority_test(base, cand, margin=-0.1) is Guard.INVALID_INPUT
    assert non_inferiority_test(base, cand, margin=math.inf) is Guard.INVALID_INPUT
    assert non_inferiority_test(base, Mean.from_values([1.0]), margin=0.1) is Guard.N_BELOW_2
    inconsistent = Mean(n=2, sum=1396.87, sum_squares=52377.9767)
    assert non_inferiority_test(base, inconsistent, margin=0.1) is Guard.ZERO_VARIANCE
