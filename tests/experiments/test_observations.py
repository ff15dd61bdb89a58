"""Validation of posted observations: every problem named with its item index."""

import math
from typing import Any

import pytest

from aiwatch.experiments.observations import Invalid, check_totals, parse
from aiwatch.stats import Mean, Proportion, Ratio

from .helpers import experiment_config, rating_experiment


def test_raw_and_aggregated_values_sum_per_arm() -> None:
    """Raw values and pre-aggregated sums of one arm add up into one sufficient statistic."""
    body = [
        {"variant": "b", "metric": "rating", "value": 4},
        {"variant": "b", "metric": "rating", "value": 5.5},
        {"variant": "b", "metric": "rating", "n": 2, "sum": 6, "sum_squares": 20},
        {"variant": "a", "metric": "thumbs_up", "value": True},
        {"variant": "a", "metric": "thumbs_up", "n": 10, "sum": 3},
        {"variant": "a", "metric": "cost_per_token", "numerator": 2.0, "denominator": 4.0},
    ]
    arms = parse(rating_experiment(), body)
    assert arms[("b", "rating")] == Mean(n=4, sum=15.5, sum_squares=16 + 30.25 + 20)
    assert arms[("a", "thumbs_up")] == Proportion(n=11, successes=4.0)
    assert arms[("a", "cost_per_token")] == Ratio(1, 2.0, 4.0, 4.0, 16.0, 8.0)


def _problems(body: Any) -> list[str]:
    with pytest.raises(Invalid) as info:
        parse(rating_experiment(), body)
    return info.value.problems


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"variant": "c", "metric": "rating", "value": 1}, "unknown variant 'c' (variants: a, b)"),
        ({"variant": "a", "metric": "nps", "value": 1}, "unknown metric 'nps'"),
        ({"metric": "rating", "value": 1}, "variant is missing (variants: a, b)"),
        ({"variant": "a", "value": 1}, "metric is missing (metrics: rating, thumbs_up, "),
        (
            {"variant": "a", "metric": "rating", "n": -1, "sum": 0, "sum_squares": 0},
            "n must not be negative",
        ),
        (
            {"variant": "a", "metric": "rating", "n": 1e300, "sum": 0, "sum_squares": 0},
            "n must be at most 9007199254740992",
        ),
        (
            {"variant": "a", "metric": "rating", "n": 2**53 + 1, "sum": 0, "sum_squares": 0},
            "n must be at most 9007199254740992, got 9007199254740993",
        ),
        (
            {"variant": "a", "metric": "rating", "n": 1.5, "sum": 0, "sum_squares": 0},
            "n must be a whole number",
        ),
        (
            {"variant": "a", "metric": "rating", "n": 2, "sum": 10, "sum_squares": 49},
            "sum_squares 49 is inconsistent with sum 10 and n 2",
        ),
        (
            {"variant": "a", "metric": "rating", "n": 2, "sum": 1, "sum_squares": -1},
            "sum_squares must not be negative",
        ),
        ({"variant": "a", "metric": "rating", "value": "4"}, "value must be a number"),
        ({"variant": "a", "metric": "rating", "value": True}, "value must be a number"),
        (
            {"variant": "a", "metric": "rating", "value": 1, "extra": 2},
            "a mean observation needs {value} or {n, sum, sum_squares}",
        ),
        ({"variant": "a", "metric": "rating", "n": 3, "sum": 1}, "a mean observation needs"),
        (
            {"variant": "a", "metric": "thumbs_up", "value": 2},
            "a proportion's value must be 0, 1, true or false",
        ),
        (
            {"variant": "a", "metric": "thumbs_up", "n": 3, "sum": 4},
            "sum (successes) must lie in [0, n=3]",
        ),
        (
            {"variant": "a", "metric": "thumbs_up", "n": 3, "sum": 2, "sum_squares": 3},
            "must equal its sum",
        ),
        (
            {"variant": "a", "metric": "thumbs_up", "n": 10, "sum": 3.5},
            "sum (successes) must be a whole number, got 3.5",
        ),
        (
            {
                "variant": "a",
                "metric": "cost_per_token",
                "n": 2,
                "numerator_sum": 2,
                "numerator_sum_squares": 2,
                "denominator_sum": 2,
                "denominator_sum_squares": 2,
                "cross_sum": 5,
            },
            "Cauchy–Schwarz",
        ),
        ("rating=4", "must be an object"),
    ],
)
def test_each_problem_is_named_with_its_index(item: Any, message: str) -> None:
    """A bad item is rejected with its index and a message that says what is wrong."""
    good = {"variant": "a", "metric": "rating", "value": 3}
    problems = _problems([good, item])
    assert len(problems) == 1
    assert problems[0].startswith("observations[1]: ")
    assert message in problems[0]


def test_non_finite_numbers_are_rejected() -> None:
    """inf and NaN (which Python's JSON parser accepts) are named as not finite."""
    problems = _problems(
        [
            {"variant": "a", "metric": "rating", "value": math.inf},
            {"variant": "a", "metric": "rating", "n": 2, "sum": math.nan, "sum_squares": 1},
        ]
    )
    assert problems == [
        "observations[0]: value must be finite, got inf",
        "observations[1]: sum must be finite, got nan",
    ]


def test_every_bad_item_is_reported_and_nothing_accepted() -> None:
    """All problems come back at once; a body with any problem adds nothing."""
    problems = _problems(
        [
            {"variant": "x", "metric": "rating", "value": 1},
            {"variant": "a", "metric": "rating", "value": 1},
            {"variant": "a", "metric": "rating"},
        ]
    )
    assert [p.split(":")[0] for p in problems] == ["observations[0]", "observations[2]"]


def test_body_must_be_a_list() -> None:
    """An object instead of a list is named as such."""
    assert _problems({"variant": "a"}) == ["body must be a JSON list of observations"]


def test_other_sources_refuse_observations() -> None:
    """A probe or PromQL metric does not take posted data."""
    config = experiment_config(
        [
            {
                "name": "models",
                "control": "a",
                "variants": [{"name": "a", "target": "t1"}, {"name": "b", "target": "t1"}],
                "metrics": [{"name": "latency", "source": "probe", "field": "duration"}],
            }
        ],
        targets=[{"name": "t1", "kind": "http", "url": "http://127.0.0.1:1/"}],
    )
    with pytest.raises(Invalid, match="has source: probe; only source: observations"):
        parse(config.experiments[0], [{"variant": "a", "metric": "latency", "value": 1}])


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"variant": "a", "metric": "rating", "n": 0, "sum": 0, "sum_squares": 5},
            "with n 0 there are no values: sum and sum_squares must be 0",
        ),
        (
            {"variant": "a", "metric": "rating", "n": 1, "sum": 5, "sum_squares": 30},
            "with n 1 (one value) sum_squares must equal sum², 25, got 30",
        ),
        (
            {
                "variant": "a",
                "metric": "cost_per_token",
                "n": 1,
                "numerator_sum": 2,
                "numerator_sum_squares": 4,
                "denominator_sum": 4,
                "denominator_sum_squares": 16,
                "cross_sum": 5,
            },
            "with n 1 (one unit) cross_sum must equal numerator_sum · denominator_sum, 8, got 5",
        ),
    ],
)
def test_sums_no_real_values_could_have_are_refused(item: Any, message: str) -> None:
    """An aggregate with no units but non-zero sums, or one unit whose sum of squares is not
    its value squared, would add variance out of nothing; it is refused with a reason."""
    assert _problems([item]) == [f"observations[0]: {message}"]


def test_one_unit_aggregate_equal_to_a_raw_value_is_accepted() -> None:
    """{n: 1, sum: x, sum_squares: x²} is the same as {value: x}, float rounding allowed."""
    x = 0.1 + 0.2
    arms = parse(
        rating_experiment(),
        [{"variant": "a", "metric": "rating", "n": 1, "sum": x, "sum_squares": 0.09}],
    )
    assert arms[("a", "rating")].n == 1


def test_values_whose_squares_overflow_are_refused() -> None:
    """A finite value whose square (or a ratio pair whose product) is not finite would store
    an infinite sum of squares and void the arm's analysis for good; it is refused."""
    problems = _problems(
        [
            {"variant": "a", "metric": "rating", "value": 1e200},
            {"variant": "a", "metric": "cost_per_token", "numerator": 1e200, "denominator": 2},
        ]
    )
    assert problems == [
        "observations[0]: value 1e+200 is too large: its square is not a finite number",
        "observations[1]: numerator and denominator are too large: their squares or product "
        "are not finite numbers",
    ]


def test_items_that_add_up_past_the_float_range_are_refused() -> None:
    """Items that are each fine but whose sums together overflow are refused at the item
    that tips the arm over, so no infinite sum is ever stored."""
    item = {"variant": "b", "metric": "rating", "value": 1e154}
    assert _problems([item, item]) == [
        "observations[1]: the sums of variant 'b' on metric 'rating' would become too large "
        "to hold (not finite); nothing was added"
    ]


def test_running_sums_are_checked_against_what_the_arm_holds() -> None:
    """``check_totals`` refuses a delta that would overflow the arm's running sums, and
    accepts one that fits (or that starts an arm of another kind after a config change)."""
    current = {("b", "rating"): Mean(n=1, sum=1e154, sum_squares=1e308)}
    delta = parse(rating_experiment(), [{"variant": "b", "metric": "rating", "value": 1e154}])
    with pytest.raises(Invalid, match="would become too large to hold"):
        check_totals(current, delta)
    check_totals(
        current, parse(rating_experiment(), [{"variant": "b", "metric": "rating", "value": 1}])
    )
    check_totals({("b", "rating"): Proportion(n=1, successes=1.0)}, delta)
