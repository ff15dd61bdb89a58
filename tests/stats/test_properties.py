"""Property tests: no input, however degenerate, gives NaN, inf or an exception anywhere."""

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiwatch.config.model import Experiment, ExperimentMetric, Variant
from aiwatch.stats.analysis import analyze
from aiwatch.stats.correction import adjust
from aiwatch.stats.srm import srm_p_value
from aiwatch.stats.sufficient import Mean, Proportion, Ratio, SufficientStats

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
SANE_FLOAT = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
COUNTS = st.one_of(st.integers(-3, 3), st.integers(2, 10**12))


def _number() -> st.SearchStrategy[float]:
    # Mostly plausible magnitudes, sometimes anything a float can hold.
    return st.one_of(SANE_FLOAT, SANE_FLOAT, ANY_FLOAT, st.sampled_from([0.0, 1.0, -0.0]))


@st.composite
def sufficient(draw: st.DrawFn) -> SufficientStats:
    """Any sufficient statistics, consistent or not."""
    n = draw(COUNTS)
    kind = draw(st.sampled_from(["proportion", "mean", "ratio", "consistent"]))
    if kind == "proportion":
        return Proportion(n=n, successes=draw(_number()))
    if kind == "consistent":
        values = draw(st.lists(SANE_FLOAT, max_size=20))
        return Mean.from_values(values)
    if kind == "mean":
        return Mean(n=n, sum=draw(_number()), sum_squares=draw(_number()))
    return Ratio(n, *(draw(_number()) for _ in range(5)))


@st.composite
def experiments(draw: st.DrawFn) -> tuple[Experiment, dict[tuple[str, str], SufficientStats]]:
    """A valid experiment config with arbitrary (possibly missing) data for its arms."""
    names = ["a", "b", "c"][: draw(st.integers(2, 3))]
    metrics = tuple(
        ExperimentMetric(
            name=f"m{i}",
            source="observations",
            goal=draw(st.sampled_from(["increase", "decrease"])),
            guardrail=draw(st.booleans()),
            minimum_effect=draw(st.one_of(st.none(), st.floats(0.001, 10))),
        )
        for i in range(draw(st.integers(1, 3)))
    )
    prior_variance = draw(st.one_of(st.none(), st.floats(1e-6, 100)))
    experiment = Experiment(
        name="p",
        control="a",
        variants=tuple(Variant(n, weight=draw(st.floats(0.01, 1))) for n in names),
        metrics=metrics,
        alpha=draw(st.floats(0.001, 0.2)),
        method=draw(st.sampled_from(["frequentist", "sequential", "bayesian"])),
        sequential_tuning=draw(st.floats(1, 1e9)),
        prior_mean=draw(st.floats(-1, 1)) if prior_variance else None,
        prior_variance=prior_variance,
        difference=draw(st.sampled_from(["relative", "absolute"])),
        correction=draw(st.sampled_from(["none", "holm", "bh"])),
        min_samples=draw(st.integers(0, 1000)),
        power=draw(st.floats(0.5, 0.99)),
    )
    data = {
        (v, m.name): draw(sufficient())
        for v in names
        for m in metrics
        if draw(st.integers(0, 9)) > 0  # sometimes an arm has no data yet
    }
    return experiment, data


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    return [x for v in value for x in _numbers(v)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(experiments())
def test_analysis_output_is_always_finite(
    case: tuple[Experiment, dict[tuple[str, str], SufficientStats]],
) -> None:
    """``analyze`` never raises and its JSON holds only finite numbers, with sane ranges."""
    experiment, data = case
    document = analyze(experiment, data).to_json()
    json.dumps(document, allow_nan=False)  # raises on NaN or inf
    assert all(math.isfinite(x) for x in _numbers(document))
    assert 0 <= document["srm_p_value"] <= 1
    for row in document["results"]:
        for key in ("p_value", "adjusted_p_value", "chance_to_win"):
            assert row[key] is None or 0 <= row[key] <= 1
        if row["ci"] is not None:
            assert row["ci"][0] <= row["lift"] <= row["ci"][1]
        if row["risk"] is not None:
            assert min(row["risk"]) >= 0
        if row["significant"]:
            assert row["guard"] is None
    for power in document["power"]:
        assert 0 <= power["power"] <= 1
        assert power["samples_needed"] >= 0


@given(st.lists(st.floats(0, 1), max_size=30), st.sampled_from(["none", "holm", "bh"]))
def test_corrections_stay_probabilities_and_never_shrink(p: list[float], method: str) -> None:
    """Adjusted p-values lie in [0, 1] and are never below the raw ones."""
    adjusted = adjust(p, method)  # type: ignore[arg-type]
    assert all(0 <= q <= 1 for q in adjusted)
    assert all(q >= raw for q, raw in zip(adjusted, p, strict=True))


@given(st.lists(st.tuples(st.integers(0, 10**12), st.floats(0, 10)), min_size=1, max_size=8))
def test_srm_p_value_is_a_probability(arms: list[tuple[int, float]]) -> None:
    """The SRM p-value is a finite probability for any counts and non-negative weights."""
    p = srm_p_value([c for c, _ in arms], [w for _, w in arms])
    assert 0 <= p <= 1
