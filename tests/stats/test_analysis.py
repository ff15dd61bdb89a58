"""``analyze``: rows, correction family, SRM and the verdict with its reasons."""

import dataclasses

import pytest

from aiwatch.config.model import Experiment, ExperimentMetric, Variant
from aiwatch.stats.analysis import analyze
from aiwatch.stats.guards import Guard
from aiwatch.stats.sufficient import Mean, Proportion, SufficientStats

ROW_KEYS = [
    "metric",
    "variant",
    "n",
    "mean",
    "lift",
    "ci",
    "p_value",
    "adjusted_p_value",
    "chance_to_win",
    "risk",
    "significant",
    "guard",
]
SUCCESS = ExperimentMetric("success_rate", "probe", "proportion")
LATENCY = ExperimentMetric("latency", "probe", "mean", field="duration", goal="decrease")
COST = ExperimentMetric("cost", "probe", "mean", goal="decrease", guardrail=True)


def experiment(*metrics: ExperimentMetric, variants: int = 2, **overrides: object) -> Experiment:
    """A current/candidate(/third) experiment over ``metrics``."""
    names = ["current", "candidate", "third"][:variants]
    fields: dict[str, object] = {
        "name": "captions-model-v2",
        "control": "current",
        "variants": tuple(Variant(n, weight=1.0) for n in names),
        "metrics": metrics,
        "min_samples": 100,
    }
    fields.update(overrides)
    return Experiment(**fields)  # type: ignore[arg-type]


def normal(n: int, mean: float, sd: float) -> Mean:
    """Sums of ``n`` values with this mean and sample standard deviation."""
    return Mean(n=n, sum=n * mean, sum_squares=(n - 1) * sd * sd + n * mean * mean)


def rates(
    current: float, candidate: float, n: int = 5000
) -> dict[tuple[str, str], SufficientStats]:
    """Success-rate data for both arms."""
    return {
        ("current", "success_rate"): Proportion(n, round(current * n)),
        ("candidate", "success_rate"): Proportion(n, round(candidate * n)),
    }


def test_row_json_has_exactly_the_spec_keys() -> None:
    """A result row serialises to the documented result keys, in its order, with ci as a pair."""
    result = analyze(experiment(SUCCESS), rates(0.87, 0.9, n=1000))
    row = result.row(variant="candidate", metric="success_rate").to_json()
    assert list(row) == ROW_KEYS
    assert row["n"] == 1000
    assert row["mean"] == pytest.approx(0.9)
    assert len(row["ci"]) == 2
    assert row["chance_to_win"] is None
    assert row["risk"] is None


def test_experiment_json_shape() -> None:
    """The analysis serialises with the experiment-level keys of docs/experiments.md."""
    document = analyze(experiment(SUCCESS), rates(0.87, 0.9)).to_json()
    for key in ("name", "method", "difference", "srm_p_value", "srm", "verdict", "results"):
        assert key in document
    assert set(document["verdict"]) == {"winner", "reason"}
    assert [r["variant"] for r in document["results"]] == ["current", "candidate"]


def test_control_row_carries_only_n_and_mean() -> None:
    """The control's own row reports its size and mean and nothing relative to itself."""
    row = analyze(experiment(SUCCESS), rates(0.87, 0.9)).row(
        variant="current", metric="success_rate"
    )
    assert row.n == 5000
    assert row.mean == pytest.approx(0.87)
    assert (row.lift, row.ci, row.p_value, row.significant) == (None, None, None, False)


def test_clear_winner_is_declared() -> None:
    """A large, significant improvement with enough samples and no SRM wins."""
    result = analyze(experiment(SUCCESS), rates(0.90, 0.95))
    assert result.verdict.winner == "candidate"
    assert result.verdict.reason == "candidate beats current on success_rate"
    assert result.row(variant="candidate", metric="success_rate").significant


def test_not_enough_samples_reason_names_the_counts() -> None:
    """Below ``min_samples`` there is no winner, however large the effect."""
    data = rates(0.5, 0.9, n=412)
    result = analyze(experiment(SUCCESS, min_samples=1000), data)
    assert result.verdict.winner is None
    assert result.verdict.reason == "not enough samples: 412 of 1000 needed"


def test_sample_ratio_mismatch_blocks_the_winner() -> None:
    """1000 vs 1200 units on a 50/50 split is an SRM (gbstats' vector), so no winner."""
    result = analyze(
        experiment(SUCCESS), rates(0.90, 0.95), units={"current": 1000, "candidate": 1200}
    )
    assert result.srm
    assert result.srm_p_value == pytest.approx(2.0079e-5, rel=1e-4)
    assert result.verdict.winner is None
    assert result.verdict.reason == "sample ratio mismatch: p = 2.01e-05 < 0.001"


def test_units_default_to_each_variants_largest_n() -> None:
    """Without ``units`` the SRM check uses each variant's largest n over its metrics."""
    data = {
        **rates(0.9, 0.95, n=1000),
        ("current", "latency"): normal(1000, 1.0, 0.3),
        ("candidate", "latency"): normal(1200, 1.0, 0.3),
    }
    result = analyze(experiment(SUCCESS, LATENCY), data)
    assert result.srm_p_value == pytest.approx(2.0079e-5, rel=1e-4)


def _latency(current: float, candidate: float, n: int = 2000) -> dict[tuple[str, str], Mean]:
    return {
        ("current", "latency"): normal(n, current, 0.4),
        ("candidate", "latency"): normal(n, candidate, 0.4),
    }


def test_lower_is_better_makes_a_faster_variant_win() -> None:
    """With goal ``decrease`` a significantly lower mean is the improvement."""
    result = analyze(experiment(LATENCY), _latency(1.2, 1.1))
    assert result.verdict.winner == "candidate"
    assert result.row(variant="candidate", metric="latency").outcome == "better"


def test_higher_is_better_makes_the_same_data_a_loss() -> None:
    """The same data under goal ``increase`` is a significant loss and no winner."""
    metric = dataclasses.replace(LATENCY, goal="increase")
    result = analyze(experiment(metric), _latency(1.2, 1.1))
    assert result.verdict.winner is None
    assert result.verdict.reason == "no variant beats current; candidate is worse on latency"


def test_lower_is_better_flips_bayesian_chance_to_win_and_risk() -> None:
    """Under ``bayesian`` the goal flips chance to win to 1 - p and swaps the two risks."""
    data = _latency(1.2, 1.18)
    up = dataclasses.replace(LATENCY, goal="increase")
    lower = analyze(experiment(LATENCY, method="bayesian"), data).row(
        variant="candidate", metric="latency"
    )
    higher = analyze(experiment(up, method="bayesian"), data).row(
        variant="candidate", metric="latency"
    )
    assert lower.chance_to_win is not None
    assert higher.chance_to_win is not None
    assert lower.chance_to_win == pytest.approx(1 - higher.chance_to_win, rel=1e-12)
    assert lower.chance_to_win > 0.5
    assert lower.risk is not None
    assert higher.risk is not None
    assert lower.risk == (higher.risk[1], higher.risk[0])
    assert lower.p_value is None
    assert lower.adjusted_p_value is None


def test_bayesian_significance_follows_chance_to_win() -> None:
    """A Bayesian row is significant when chance to win passes 1 - alpha."""
    result = analyze(experiment(SUCCESS, method="bayesian"), rates(0.90, 0.95))
    row = result.row(variant="candidate", metric="success_rate")
    assert row.chance_to_win is not None
    assert row.chance_to_win > 0.95
    assert row.significant
    assert result.verdict.winner == "candidate"


def test_failing_guardrail_blocks_the_winner() -> None:
    """A significant harm on a guardrail metric stops an otherwise winning variant."""
    data = {
        **rates(0.90, 0.95),
        ("current", "cost"): normal(5000, 0.010, 0.002),
        ("candidate", "cost"): normal(5000, 0.012, 0.002),
    }
    result = analyze(experiment(SUCCESS, COST), data)
    assert result.verdict.winner is None
    assert result.verdict.reason == "candidate is better on success_rate but fails guardrail cost"


def test_unevaluable_guardrail_blocks_the_winner() -> None:
    """A guardrail that cannot be computed (zero variance) also stops the winner."""
    data = {
        **rates(0.90, 0.95),
        ("current", "cost"): normal(5000, 0.01, 0.0),
        ("candidate", "cost"): normal(5000, 0.01, 0.0),
    }
    result = analyze(experiment(SUCCESS, COST), data)
    assert result.row(variant="candidate", metric="cost").guard is Guard.ZERO_VARIANCE
    assert result.verdict.winner is None
    assert result.verdict.reason == (
        "candidate is better on success_rate but guardrail cost cannot be evaluated: zero_variance"
    )


def test_better_and_worse_on_primary_metrics_is_no_winner() -> None:
    """Winning one primary metric while losing another is not a win."""
    data = {**rates(0.90, 0.95), **_latency(1.1, 1.3)}
    result = analyze(experiment(SUCCESS, LATENCY), data)
    assert result.verdict.winner is None
    assert result.verdict.reason == "candidate is better on success_rate but worse on latency"


def test_guardrails_stay_out_of_the_correction_family() -> None:
    """Holm adjusts the primary metrics as one family; a guardrail keeps its raw p-value."""
    data = {
        **rates(0.90, 0.91),
        **_latency(1.2, 1.19),
        ("current", "cost"): normal(5000, 0.010, 0.002),
        ("candidate", "cost"): normal(5000, 0.0101, 0.002),
    }
    result = analyze(experiment(SUCCESS, LATENCY, COST), data)
    p = [result.row(variant="candidate", metric=m).p_value for m in ("success_rate", "latency")]
    adjusted = [
        result.row(variant="candidate", metric=m).adjusted_p_value
        for m in ("success_rate", "latency")
    ]
    assert p[0] is not None
    assert p[1] is not None
    low, high = sorted(p)
    assert sorted(adjusted) == pytest.approx([min(1, 2 * low), min(1, max(2 * low, high))])
    cost = result.row(variant="candidate", metric="cost")
    assert cost.adjusted_p_value == cost.p_value


def test_holm_correction_can_remove_significance() -> None:
    """Two variants each at p ≈ 0.03: significant uncorrected, not after Holm."""
    n = 5000
    data: dict[tuple[str, str], SufficientStats] = {
        ("current", "success_rate"): Proportion(n, 0.5 * n),
        ("candidate", "success_rate"): Proportion(n, 0.5 * n + 108),
        ("third", "success_rate"): Proportion(n, 0.5 * n + 108),
    }
    raw = analyze(experiment(SUCCESS, variants=3, correction="none"), data)
    holm = analyze(experiment(SUCCESS, variants=3, correction="holm"), data)
    row_raw = raw.row(variant="candidate", metric="success_rate")
    row_holm = holm.row(variant="candidate", metric="success_rate")
    assert row_raw.p_value is not None
    assert 0.025 < row_raw.p_value < 0.05
    assert row_raw.significant
    assert not row_holm.significant
    assert raw.verdict.winner in {"candidate", "third"}
    assert holm.verdict.winner is None


def test_the_variant_better_on_more_metrics_wins() -> None:
    """When several variants qualify, the one better on more metrics is the winner."""
    n = 5000
    data: dict[tuple[str, str], SufficientStats] = {
        ("current", "success_rate"): Proportion(n, 0.90 * n),
        ("candidate", "success_rate"): Proportion(n, 0.95 * n),
        ("third", "success_rate"): Proportion(n, 0.96 * n),
        ("current", "latency"): normal(n, 1.2, 0.4),
        ("candidate", "latency"): normal(n, 1.0, 0.4),
        ("third", "latency"): normal(n, 1.2, 0.4),
    }
    result = analyze(experiment(SUCCESS, LATENCY, variants=3), data)
    assert result.verdict.winner == "candidate"
    assert result.verdict.reason == "candidate beats current on success_rate, latency"


def test_sequential_is_wider_than_fixed_horizon() -> None:
    """The always-valid interval is wider and its p-value larger than the fixed-horizon one."""
    data = rates(0.90, 0.91)
    fixed = analyze(experiment(SUCCESS), data).row(variant="candidate", metric="success_rate")
    seq = analyze(experiment(SUCCESS, method="sequential"), data).row(
        variant="candidate", metric="success_rate"
    )
    assert fixed.ci is not None
    assert seq.ci is not None
    assert seq.ci[0] < fixed.ci[0]
    assert seq.ci[1] > fixed.ci[1]
    assert seq.p_value is not None
    assert fixed.p_value is not None
    assert seq.p_value > fixed.p_value


def test_absolute_difference_reports_units_not_ratios() -> None:
    """``difference: absolute`` reports the variant mean minus the control mean."""
    result = analyze(experiment(LATENCY, difference="absolute"), _latency(1.2, 1.1))
    row = result.row(variant="candidate", metric="latency")
    assert row.lift == pytest.approx(-0.1)


def test_no_difference_names_the_samples_still_needed() -> None:
    """Without significance, a ``minimum_effect`` turns into samples still needed per arm."""
    metric = dataclasses.replace(LATENCY, minimum_effect=0.05)
    result = analyze(experiment(metric), _latency(1.2, 1.2, n=200))
    row = result.row(variant="candidate", metric="latency")
    assert row.power is not None
    assert row.power.samples_needed > 0
    assert result.verdict.reason == (
        f"no significant difference yet: {row.power.samples_needed} more samples per arm "
        "to detect 0.05 on latency"
    )


def test_no_difference_without_power_says_so() -> None:
    """Without significance or a minimum effect the reason is plain."""
    result = analyze(experiment(LATENCY), _latency(1.2, 1.2))
    assert result.verdict.winner is None
    assert result.verdict.reason == "no significant difference"


def test_every_primary_metric_guarded_says_which() -> None:
    """When nothing can be compared the reason names the metric and the guard."""
    data = {
        ("current", "latency"): normal(500, 1.0, 0.0),
        ("candidate", "latency"): normal(500, 1.0, 0.0),
    }
    result = analyze(experiment(LATENCY), data)
    assert result.verdict.reason == "cannot compare candidate on latency: zero_variance"


def test_only_guardrails_means_nothing_to_decide() -> None:
    """An experiment with guardrail metrics only never declares a winner."""
    result = analyze(experiment(COST), {})
    assert result.verdict.winner is None
    assert result.verdict.reason.startswith("nothing to compare")
