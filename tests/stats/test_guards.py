"""Every guard: the input that trips it, and that it shows in results instead of numbers."""

import math

import pytest

from aiwatch.config.model import Experiment, ExperimentMetric, Variant
from aiwatch.stats.analysis import analyze
from aiwatch.stats.bayesian import GaussianPrior, Posterior, effect_bayesian
from aiwatch.stats.frequentist import Estimate, two_sided_ttest
from aiwatch.stats.guards import BLOCKING, Guard
from aiwatch.stats.power import power_analysis
from aiwatch.stats.sequential import sequential_ttest
from aiwatch.stats.sufficient import Mean, Proportion, Ratio

GOOD = Mean(n=100, sum=300.0, sum_squares=1000.0)
GOOD_P = Proportion(n=100, successes=30.0)


def _experiment(**overrides: object) -> Experiment:
    fields: dict[str, object] = {
        "name": "e",
        "control": "a",
        "variants": (Variant("a", weight=0.5), Variant("b", weight=0.5)),
        "metrics": (ExperimentMetric("m", "observations"),),
        "min_samples": 2,
    }
    fields.update(overrides)
    return Experiment(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        Proportion(n=10, successes=11.0),
        Proportion(n=10, successes=-1.0),
        Mean(n=-3, sum=1.0, sum_squares=1.0),
        Mean(n=10, sum=math.nan, sum_squares=1.0),
        Mean(n=10, sum=1.0, sum_squares=math.inf),
        Ratio(10, 1.0, 1.0, 1.0, 1.0, -math.inf),
    ],
)
def test_invalid_input(bad: Proportion | Mean | Ratio) -> None:
    """Impossible or non-finite sums give ``invalid_input`` in every test, on either side."""
    good = GOOD_P if isinstance(bad, Proportion) else GOOD
    if isinstance(bad, Ratio):
        good = Ratio(100, 300.0, 1000.0, 200.0, 500.0, 650.0)
    for control, variant in ((bad, good), (good, bad)):
        assert two_sided_ttest(control, variant) is Guard.INVALID_INPUT
        assert sequential_ttest(control, variant) is Guard.INVALID_INPUT
        assert effect_bayesian(control, variant) is Guard.INVALID_INPUT


def test_invalid_prior_is_invalid_input() -> None:
    """A proper prior without a positive finite variance cannot be used."""
    prior = GaussianPrior(mean=0.0, variance=0.0, proper=True)
    assert effect_bayesian(GOOD, GOOD, prior=prior) is Guard.INVALID_INPUT


@pytest.mark.parametrize("n", [0, 1])
def test_n_below_2(n: int) -> None:
    """An arm with fewer than two units gives ``n_below_2``."""
    small = Mean(n=n, sum=float(n), sum_squares=float(n))
    assert two_sided_ttest(GOOD, small) is Guard.N_BELOW_2
    assert two_sided_ttest(small, GOOD, relative=False) is Guard.N_BELOW_2
    assert effect_bayesian(small, GOOD) is Guard.N_BELOW_2


def test_zero_denominator() -> None:
    """A ratio metric whose denominator sums to zero gives ``zero_denominator``."""
    good = Ratio(100, 300.0, 1000.0, 200.0, 500.0, 650.0)
    empty = Ratio(100, 300.0, 1000.0, 0.0, 0.0, 0.0)
    assert two_sided_ttest(good, empty, relative=False) is Guard.ZERO_DENOMINATOR
    assert sequential_ttest(empty, good) is Guard.ZERO_DENOMINATOR


@pytest.mark.parametrize("n", [1, 3])
def test_zero_denominator_arm_has_no_mean(n: int) -> None:
    """A ratio arm whose denominators sum to zero has no mean (0/0 or m/0): ``mean`` is null
    on its row, for the control and for a variant, not the 0 that gbstats' convention gives."""
    experiment = _experiment(metrics=(ExperimentMetric("m", "observations", kind="ratio"),))
    good = Ratio(100, 300.0, 1000.0, 200.0, 500.0, 650.0)
    empty = Ratio(n, 3.0, 5.0, 0.0, 0.0, 0.0)
    for control, variant in ((empty, good), (good, empty)):
        result = analyze(experiment, {("a", "m"): control, ("b", "m"): variant})
        rows = {r.variant: r for r in result.results}
        empty_side = "a" if control is empty else "b"
        assert rows[empty_side].to_json()["mean"] is None
        assert rows["b"].guard in (Guard.ZERO_DENOMINATOR, Guard.N_BELOW_2)
        other = rows["b" if empty_side == "a" else "a"]
        assert other.mean == pytest.approx(1.5)


@pytest.mark.parametrize("control_mean", [0.0, -2.0])
def test_control_mean_not_positive_for_relative_lift(control_mean: float) -> None:
    """A relative lift over a zero or negative control mean gives the guard; absolute does not."""
    control = Mean(n=100, sum=100 * control_mean, sum_squares=100 * control_mean**2 + 99)
    assert two_sided_ttest(control, GOOD) is Guard.CONTROL_MEAN_NOT_POSITIVE
    assert sequential_ttest(control, GOOD) is Guard.CONTROL_MEAN_NOT_POSITIVE
    assert effect_bayesian(control, GOOD) is Guard.CONTROL_MEAN_NOT_POSITIVE
    assert isinstance(two_sided_ttest(control, GOOD, relative=False), Estimate)
    assert isinstance(effect_bayesian(control, GOOD, relative=False), Posterior)


def test_control_mean_zero_with_relative_prior_on_absolute_difference() -> None:
    """A relative prior cannot be rescaled to absolute units over a zero control mean."""
    control = Mean(n=100, sum=0.0, sum_squares=99.0)
    prior = GaussianPrior(mean=0.0, variance=0.09, proper=True)
    result = effect_bayesian(control, GOOD, relative=False, prior=prior)
    assert result is Guard.CONTROL_MEAN_NOT_POSITIVE


@pytest.mark.parametrize(
    "flat",
    [
        Mean(n=50, sum=150.0, sum_squares=450.0),  # every value 3
        Proportion(n=50, successes=50.0),  # every probe passed
        Mean(n=2, sum=1396.87, sum_squares=52377.9767),  # sums imply a negative variance
    ],
)
def test_zero_variance(flat: Mean | Proportion) -> None:
    """An arm without spread (or with inconsistent sums) gives ``zero_variance``."""
    other = GOOD_P if isinstance(flat, Proportion) else GOOD
    assert two_sided_ttest(other, flat) is Guard.ZERO_VARIANCE
    assert effect_bayesian(other, flat) is Guard.ZERO_VARIANCE
    assert power_analysis(other, flat, minimum_effect=0.1) is Guard.ZERO_VARIANCE


def test_numerical_overflow() -> None:
    """Sums whose squares leave the float range give ``numerical_overflow``, not inf or NaN."""
    huge = Mean(n=10, sum=1e300, sum_squares=1e300)
    assert two_sided_ttest(GOOD, huge, relative=False) is Guard.NUMERICAL_OVERFLOW
    assert sequential_ttest(GOOD, huge) is Guard.NUMERICAL_OVERFLOW


def test_too_few_samples_is_shown_but_keeps_the_numbers() -> None:
    """Below ``min_samples`` the row is computed yet flagged and never significant."""
    experiment = _experiment(min_samples=500)
    data = {("a", "m"): GOOD, ("b", "m"): Mean(n=100, sum=600.0, sum_squares=4000.0)}
    row = analyze(experiment, data).row(variant="b", metric="m")
    assert row.guard is Guard.TOO_FEW_SAMPLES
    assert row.lift is not None
    assert row.p_value is not None
    assert row.p_value < 1e-6
    assert row.significant is False
    assert row.to_json()["guard"] == "too_few_samples"


def test_blocking_guard_nulls_the_numbers_in_json() -> None:
    """A blocking guard shows as its name with null lift, ci and p-values in the API row."""
    data = {("a", "m"): GOOD, ("b", "m"): Mean(n=1, sum=3.0, sum_squares=9.0)}
    row = analyze(_experiment(), data).row(variant="b", metric="m").to_json()
    assert row["guard"] == "n_below_2"
    assert row["lift"] is None
    assert row["ci"] is None
    assert row["p_value"] is None
    assert row["adjusted_p_value"] is None
    assert row["significant"] is False


def test_missing_data_is_n_below_2_in_analysis() -> None:
    """A variant with no data at all appears with n 0 and the ``n_below_2`` guard."""
    result = analyze(_experiment(), {("a", "m"): GOOD})
    row = result.row(variant="b", metric="m")
    assert row.n == 0
    assert row.mean is None
    assert row.guard is Guard.N_BELOW_2


def test_guard_names_are_snake_case_and_blocking_excludes_only_too_few() -> None:
    """Guard values are short snake_case labels; only ``too_few_samples`` keeps numbers."""
    for guard in Guard:
        assert guard.value.replace("_", "").isalnum()
        assert guard.value == guard.value.lower()
    assert set(Guard) - BLOCKING == {Guard.TOO_FEW_SAMPLES}
