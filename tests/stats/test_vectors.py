"""gbstats' own published test vectors, transcribed.

Sources, all in the growthbook/growthbook repository at the commit that released gbstats 0.8.0
(c6b15529f6, "Bump gbstats to 0.8.0"), unless noted:

* ``packages/stats/tests/frequentist/test_tests.py`` (values rounded to 5 decimals there);
* ``packages/stats/tests/bayesian/test_tests.py`` (5 decimals);
* ``packages/stats/tests/test_gbstats.py`` (9 decimals; fixtures ``MULTI_DIMENSION_STATISTICS_DF``
  dimension "one" and ``RATIO_STATISTICS_DF``);
* ``packages/stats/tests/test_shared_models.py`` (variances against numpy);
* the SRM vector from ``packages/stats/tests/test_gbstats.py`` before commit 01387ac8d6.

Where gbstats returns its uninformative default for degenerate input, aiwatch returns a guard.
"""

import math

import numpy as np
import pytest

from aiwatch.stats.bayesian import GaussianPrior, Posterior, effect_bayesian
from aiwatch.stats.frequentist import Estimate, two_sided_ttest
from aiwatch.stats.guards import Guard
from aiwatch.stats.sequential import sequential_ttest
from aiwatch.stats.srm import srm_p_value
from aiwatch.stats.sufficient import Mean, Proportion, Ratio

D5 = 5.000001e-6  # half a unit in the 5th decimal
D9 = 5.000001e-10

A = Mean(n=3407, sum=1396.87, sum_squares=52377.9767)
B = Mean(n=3461, sum=2422.7, sum_squares=134698.29)
A3000 = Mean(n=3000, sum=1396.87, sum_squares=52377.9767)
DIM_ONE_CONTROL = Mean(n=100, sum=270, sum_squares=848.79)
DIM_ONE_VARIANT = Mean(n=120, sum=300, sum_squares=869)
RATIO_CONTROL = Ratio(100, 270, 848.79, 510, 810, -900)
RATIO_VARIANT = Ratio(120, 300, 869, 500, 800, -905)


def estimate(result: Estimate | Guard) -> Estimate:
    """The estimate, failing the test on a guard."""
    assert isinstance(result, Estimate), result
    return result


def posterior(result: Posterior | Guard) -> Posterior:
    """The posterior, failing the test on a guard."""
    assert isinstance(result, Posterior), result
    return result


def test_two_sided_ttest_relative() -> None:
    """frequentist/test_tests.py::test_two_sided_ttest."""
    r = estimate(two_sided_ttest(A, B))
    assert r.lift == pytest.approx(round((0.7 - 0.41) / 0.41, 5), abs=D5)
    assert r.ci == pytest.approx((-0.03526, 1.44989), abs=D5)
    assert r.stddev == pytest.approx(0.37879, abs=D5)
    assert r.p_value == pytest.approx(0.06191, abs=D5)


def test_two_sided_ttest_absolute() -> None:
    """frequentist/test_tests.py::test_two_sided_ttest_absolute."""
    r = estimate(two_sided_ttest(A, B, relative=False))
    assert r.lift == pytest.approx(0.29, abs=D5)
    assert r.ci == pytest.approx((0.04538, 0.53462), abs=D5)
    assert r.stddev == pytest.approx(0.12478, abs=D5)
    assert r.p_value == pytest.approx(0.02016, abs=D5)


def test_two_sided_ttest_binomial() -> None:
    """frequentist/test_tests.py::test_two_sided_ttest_binom."""
    r = estimate(two_sided_ttest(Proportion(28, 14), Proportion(30, 16)))
    assert r.lift == pytest.approx(0.06667, abs=D5)
    assert r.ci == pytest.approx((-0.47767, 0.61101), abs=D5)
    assert r.stddev == pytest.approx(0.2717, abs=D5)
    assert r.p_value == pytest.approx(0.80707, abs=D5)


def test_two_sided_ttest_missing_variance() -> None:
    """frequentist/test_tests.py::test_two_sided_ttest_missing_variance: sums give variance < 0."""
    control = Mean(n=2, sum=1396.87, sum_squares=52377.9767)
    assert two_sided_ttest(control, B) is Guard.ZERO_VARIANCE


def test_sequential_runs() -> None:
    """frequentist/test_tests.py::test_sequential_test_runs (N* = 1000)."""
    r = estimate(sequential_ttest(A3000, B, tuning=1000))
    assert r.lift == pytest.approx(0.50336, abs=D5)
    assert r.ci == pytest.approx((-0.55844, 1.56516), abs=D5)
    assert r.stddev == pytest.approx(0.33341, abs=D5)
    assert r.p_value == 1


def test_sequential_runs_proportion() -> None:
    """frequentist/test_tests.py::test_sequential_test_runs_prop (default N* = 5000)."""
    r = estimate(sequential_ttest(Proportion(3000, 1396), Proportion(3461, 2422)))
    assert r.lift == pytest.approx(0.50386, abs=D5)
    assert r.ci == pytest.approx((0.40098, 0.60675), abs=D5)
    assert r.stddev == pytest.approx(0.03386, abs=D5)
    assert r.p_value == pytest.approx(0.0, abs=D5)


def test_sequential_tuning_as_expected() -> None:
    """frequentist/test_tests.py::test_sequential_test_tuning_as_expected: N* near N is tightest."""
    below, near, above = (
        estimate(sequential_ttest(A3000, B, tuning=t)).ci for t in (10, 6461, 10000)
    )
    assert below[0] < above[0]
    assert below[1] > above[1]
    assert below[0] < near[0]
    assert below[1] > near[1]
    assert above[0] < near[0]
    assert above[1] > near[1]


def test_bayesian_binomial() -> None:
    """bayesian/test_tests.py::TestBinom::test_bayesian_binomial_ab_test."""
    r = posterior(effect_bayesian(Proportion(100, 49), Proportion(100, 51)))
    assert r.lift == pytest.approx(0.04082, abs=D5)
    assert r.ci == pytest.approx((-0.24779, 0.32943), abs=D5)
    assert r.stddev == pytest.approx(0.14725, abs=D5)
    assert r.chance_to_win == pytest.approx(0.60918, abs=D5)
    assert r.risk == pytest.approx((0.0814, 0.04058), abs=D5)


def test_bayesian_missing_data() -> None:
    """bayesian/test_tests.py::test_missing_data: gbstats' default output is a guard here."""
    assert effect_bayesian(Proportion(0, 0), Proportion(0, 0)) is Guard.N_BELOW_2
    assert effect_bayesian(Mean(0, 0, 0), Mean(0, 0, 0)) is Guard.N_BELOW_2


def test_bayesian_gaussian_flat() -> None:
    """bayesian/test_tests.py::TestNorm::test_bayesian_gaussian_ab_test."""
    r = posterior(effect_bayesian(Mean(10, 100, 1002.25), Mean(10, 105, 1111.5)))
    assert r.lift == pytest.approx(0.05, abs=D5)
    assert r.ci == pytest.approx((-0.02, 0.12), abs=D5)
    assert r.stddev == pytest.approx(0.03572, abs=D5)
    assert r.chance_to_win == pytest.approx(0.91923, abs=D5)
    assert r.risk == pytest.approx((0.05131, 0.00131), abs=D5)


def test_bayesian_gaussian_informative() -> None:
    """bayesian/test_tests.py::TestNorm::test_bayesian_gaussian_ab_test_informative."""
    prior = GaussianPrior(mean=0.1, variance=0.1, proper=True)
    r = posterior(effect_bayesian(Mean(10, 100, 1002.25), Mean(10, 105, 1111.5), prior=prior))
    assert r.lift == pytest.approx(0.05063, abs=D5)
    assert r.ci == pytest.approx((-0.01893, 0.12019), abs=D5)
    assert r.stddev == pytest.approx(0.03549, abs=D5)
    assert r.chance_to_win == pytest.approx(0.92315, abs=D5)
    assert r.risk == pytest.approx((0.05186, 0.00123), abs=D5)


def test_bayesian_relative_prior_rescaled_for_absolute() -> None:
    """bayesian/test_tests.py::TestGaussianEffectRelativeAbsolutePriors: CTW close either way."""
    control = Mean(n=100, sum=1000, sum_squares=200000)
    variant = Mean(n=100, sum=1100, sum_squares=200005)
    prior = GaussianPrior(mean=1, variance=1, proper=True)
    absolute = posterior(effect_bayesian(control, variant, relative=False, prior=prior))
    relative = posterior(effect_bayesian(control, variant, relative=True, prior=prior))
    assert round(absolute.chance_to_win, 2) == round(relative.chance_to_win, 2)


def test_analysis_bayesian_count_metric() -> None:
    """test_gbstats.py::test_get_metric_df_new (dimension "one", flat prior)."""
    assert DIM_ONE_CONTROL.mean == pytest.approx(2.7, abs=D9)
    assert DIM_ONE_VARIANT.mean == pytest.approx(2.5, abs=D9)
    r = posterior(effect_bayesian(DIM_ONE_CONTROL, DIM_ONE_VARIANT))
    assert r.risk[1] == pytest.approx(0.075691131, abs=D9)
    assert r.lift == pytest.approx(-0.074074074, abs=D9)
    assert r.chance_to_win == pytest.approx(0.071834168, abs=D9)


def test_analysis_bayesian_inverse() -> None:
    """test_gbstats.py::test_get_metric_df_inverse: lower is better flips CTW and risk."""
    r = posterior(effect_bayesian(DIM_ONE_CONTROL, DIM_ONE_VARIANT, lower_is_better=True))
    assert r.risk[1] == pytest.approx(0.001617057, abs=D9)
    assert r.lift == pytest.approx(-0.074074074, abs=D9)
    assert r.chance_to_win == pytest.approx(1 - 0.071834168, abs=D9)


def test_analysis_bayesian_ratio() -> None:
    """test_gbstats.py::test_get_metric_df_bayesian_ratio."""
    assert RATIO_CONTROL.mean == pytest.approx(0.529411765, abs=D9)
    assert RATIO_VARIANT.mean == pytest.approx(0.6, abs=D9)
    r = posterior(effect_bayesian(RATIO_CONTROL, RATIO_VARIANT))
    assert r.risk[1] == pytest.approx(0.050934045, abs=D9)
    assert r.lift == pytest.approx(0.133333333, abs=D9)
    assert r.chance_to_win == pytest.approx(0.694926359, abs=D9)


def test_analysis_frequentist_count_and_ratio() -> None:
    """test_gbstats.py::test_get_metric_df_frequentist and ..._frequentist_ratio."""
    count = estimate(two_sided_ttest(DIM_ONE_CONTROL, DIM_ONE_VARIANT))
    assert count.lift == pytest.approx(-0.074074074, abs=D9)
    assert count.p_value == pytest.approx(0.145219005, abs=D9)
    ratio = estimate(two_sided_ttest(RATIO_CONTROL, RATIO_VARIANT))
    assert ratio.lift == pytest.approx(0.133333333, abs=D9)
    assert ratio.p_value == pytest.approx(0.610663339, abs=D9)


def test_analysis_sequential() -> None:
    """test_gbstats.py::test_analyze_metric_df_sequential (N* = 600; N* = 1 is wider)."""
    r = estimate(sequential_ttest(DIM_ONE_CONTROL, DIM_ONE_VARIANT, tuning=600))
    assert r.lift == pytest.approx(-0.074074074, abs=D9)
    assert r.p_value == pytest.approx(0.892332229, abs=D9)
    assert r.ci[0] == pytest.approx(-0.233322085, abs=D9)
    bad = estimate(sequential_ttest(DIM_ONE_CONTROL, DIM_ONE_VARIANT, tuning=1))
    assert r.ci[0] > bad.ci[0]


def test_analysis_degenerate_inputs_are_guarded() -> None:
    """test_gbstats.py ONE_USER_DF and ZERO_DENOM_RATIO_STATISTICS_DF give guards, not zeros."""
    one_user = Mean(n=1, sum=1, sum_squares=1)
    assert two_sided_ttest(Mean(3, 20, 443), one_user) is Guard.N_BELOW_2
    zero_denominator = Ratio(100, 270, 848.79, 0, 0, 0)
    assert two_sided_ttest(zero_denominator, RATIO_VARIANT) is Guard.ZERO_DENOMINATOR


METRIC_1 = np.array([0.3, 0.5, 0.9, 22])
METRIC_3 = np.array([2, 1, 5, 3])


def test_shared_models_variances() -> None:
    """test_shared_models.py: sums give numpy's mean, ddof=1 variance and covariance."""
    m = Mean.from_values(METRIC_1.tolist())
    assert m.mean == pytest.approx(np.mean(METRIC_1), rel=1e-12)
    assert m.variance == pytest.approx(np.var(METRIC_1, ddof=1), rel=1e-12)
    assert Mean.from_values(METRIC_1.tolist()[:1]).variance == 0
    p = Proportion(n=4, successes=3)
    assert p.mean == 0.75
    assert p.variance == 0.75 * 0.25
    r = Ratio.from_pairs(zip(METRIC_1.tolist(), METRIC_3.tolist(), strict=True))
    assert r.covariance == pytest.approx(np.cov(METRIC_1, METRIC_3)[0, 1], rel=1e-12)


def test_srm_vector() -> None:
    """test_gbstats.py::TestHelpers::test_srm (before 01387ac8d6): 1000 vs 1200 at 50/50."""
    assert round(srm_p_value([1000, 1200], [0.5, 0.5]), 9) == 0.000020079
    assert math.isclose(srm_p_value([1000, 1000], [0.5, 0.5]), 1.0)
