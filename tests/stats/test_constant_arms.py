"""Arms whose values are all equal: one answer at every sample size, never rounding noise."""

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.config.model import Experiment, ExperimentMetric, Variant
from aiwatch.stats.analysis import analyze
from aiwatch.stats.bayesian import Posterior, effect_bayesian
from aiwatch.stats.frequentist import Estimate, two_sided_ttest
from aiwatch.stats.guards import Guard, has_spread, is_constant
from aiwatch.stats.sequential import sequential_ttest
from aiwatch.stats.sufficient import Mean, Proportion

CHEAP, DEAR = 5e-07, 1.5e-06
SUCCESS = ExperimentMetric("success_rate", "probe", "proportion")
COST = ExperimentMetric("cost", "probe", "mean", goal="decrease", guardrail=True)


def constant(n: int, value: float) -> Mean:
    """``n`` calls that each cost ``value``, summed as the collector sums them."""
    return Mean.from_values([value] * n)


def cost_experiment(method: str) -> Experiment:
    """A success-rate experiment with a cost guardrail, absolute lifts, acting from 10 samples."""
    return Experiment(
        name="cost-guardrail",
        control="current",
        variants=(Variant("current", 1.0), Variant("candidate", 1.0)),
        metrics=(SUCCESS, COST),
        method=method,  # type: ignore[arg-type]
        difference="absolute",
        min_samples=10,
    )


def test_rounding_residue_is_no_spread() -> None:
    """Sums of equal values leave a residue of either sign that counts as no spread."""
    residues = {constant(n, CHEAP).variance for n in range(10, 60)}
    assert any(v > 0 for v in residues)
    assert any(v < 0 for v in residues)
    assert all(is_constant(constant(n, CHEAP)) for n in range(10, 60))
    assert not any(has_spread(constant(n, CHEAP)) for n in range(10, 60))
    assert has_spread(Mean.from_values([1.0, 1.0001] * 5))


@settings(max_examples=200, deadline=None)
@given(n_control=st.integers(10, 10_000), n_variant=st.integers(10, 10_000))
def test_constant_but_different_arms_give_one_answer_at_every_n(
    n_control: int, n_variant: int
) -> None:
    """Cost 1.5e-06 against 5e-07: an exact lift, a zero-width interval and p = 0, always."""
    control, variant = constant(n_control, DEAR), constant(n_variant, CHEAP)
    for test in (two_sided_ttest, sequential_ttest):
        result = test(control, variant)
        assert isinstance(result, Estimate), result
        assert abs(result.lift - (-2 / 3)) < 1e-12
        assert result.ci == (result.lift, result.lift)
        assert result.p_value == 0.0
    absolute = two_sided_ttest(control, variant, relative=False)
    assert isinstance(absolute, Estimate)
    assert abs(absolute.lift - (CHEAP - DEAR)) < 1e-18
    posterior = effect_bayesian(control, variant, lower_is_better=True)
    assert isinstance(posterior, Posterior)
    assert posterior.chance_to_win == 1.0
    assert posterior.ci == (posterior.lift, posterior.lift)
    assert posterior.risk[1] == 0.0


@settings(max_examples=100, deadline=None)
@given(n=st.integers(10, 10_000), method=st.sampled_from(["frequentist", "sequential"]))
def test_cheaper_constant_guardrail_lets_the_winner_through(n: int, method: str) -> None:
    """A candidate that always costs a third is better on cost, and the guardrail never blocks."""
    data = {
        ("current", "success_rate"): Proportion(1000, 100),
        ("candidate", "success_rate"): Proportion(1000, 900),
        ("current", "cost"): constant(n, DEAR),
        ("candidate", "cost"): constant(n, CHEAP),
    }
    result = analyze(cost_experiment(method), data)
    row = result.row(variant="candidate", metric="cost")
    assert row.guard is None
    assert row.outcome == "better"
    assert row.p_value == 0.0
    assert result.verdict.winner == "candidate"


@settings(max_examples=50, deadline=None)
@given(n=st.integers(10, 10_000))
def test_dearer_constant_guardrail_fails_at_every_n(n: int) -> None:
    """The other way round the candidate always costs three times more: it fails the guardrail."""
    data = {
        ("current", "success_rate"): Proportion(n, round(0.1 * n)),
        ("candidate", "success_rate"): Proportion(n, n - round(0.1 * n)),
        ("current", "cost"): constant(n, CHEAP),
        ("candidate", "cost"): constant(n, DEAR),
    }
    result = analyze(cost_experiment("frequentist"), data)
    assert result.row(variant="candidate", metric="cost").outcome == "worse"
    assert result.verdict.reason == "candidate is better on success_rate but fails guardrail cost"


def test_every_n_from_10_to_10000_as_the_daemon_sums() -> None:
    """Arms summed one sample at a time (as experiments collect them): exact at every n."""
    dear, cheap = Mean(1, DEAR, DEAR * DEAR), Mean(1, CHEAP, CHEAP * CHEAP)
    control, variant = dear, cheap
    answers = set()
    for n in range(1, 10_001):  # each arm holds n samples here
        assert control.n == n
        if n >= 10:
            result = two_sided_ttest(control, variant)
            assert isinstance(result, Estimate), (n, result)
            answers.add((result.p_value, result.ci[1] - result.ci[0], round(result.lift, 12)))
        control, variant = control.merge(dear), variant.merge(cheap)
    assert answers == {(0.0, 0.0, round(-2 / 3, 12))}


def test_equal_constant_arms_stay_guarded() -> None:
    """Two arms of the same constant have no difference to report: ``zero_variance`` stands."""
    for n in (10, 11, 12, 13, 1000):
        assert two_sided_ttest(constant(n, CHEAP), constant(n + 1, CHEAP)) is Guard.ZERO_VARIANCE


def test_one_constant_arm_against_a_spread_one_stays_guarded() -> None:
    """As in gbstats, one arm without spread is ``zero_variance`` (the tests need both)."""
    spread = Mean.from_values([CHEAP * (1 + i % 3) for i in range(30)])
    assert two_sided_ttest(constant(30, DEAR), spread) is Guard.ZERO_VARIANCE
    assert two_sided_ttest(spread, constant(30, DEAR)) is Guard.ZERO_VARIANCE


def test_exact_estimate_keeps_its_sample_count() -> None:
    """The exact estimate's degrees of freedom are the pooled ``n_a + n_b − 2``."""
    result = two_sided_ttest(constant(10, DEAR), constant(20, CHEAP))
    assert isinstance(result, Estimate)
    assert dataclasses.astuple(result)[2:] == (0.0, 0.0, 28.0)
