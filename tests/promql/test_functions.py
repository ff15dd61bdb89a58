"""PromQL functions, with expected values worked out by hand from Prometheus' definitions."""

import math

import pytest

from aiwatch.promql import MemoryStorage, PromQLError, Scalar, instant_query
from tests.promql.helpers import one, query, scalar, store_with

MINUTELY = [(60 * i, 10.0 * i) for i in range(11)]  # counter: +10 per minute, 0..600 s


def test_rate_over_perfectly_aligned_window_needs_no_extrapolation() -> None:
    """Samples exactly at both window ends: rate is the plain slope."""
    store = store_with({"c": MINUTELY})
    assert one(store, "rate(c[5m])", 600) == pytest.approx(10 / 60, rel=1e-15)
    assert one(store, "increase(c[5m])", 600) == pytest.approx(50.0, rel=1e-15)


def test_increase_counts_a_counter_reset_as_a_restart_from_zero() -> None:
    """0,10,20,5,15: the drop to 5 adds the pre-reset 20, giving 35."""
    store = store_with({"c": [(0, 0.0), (60, 10.0), (120, 20.0), (180, 5.0), (240, 15.0)]})
    assert one(store, "increase(c[4m])", 240) == 35.0
    assert one(store, "resets(c[4m])", 240) == 1.0
    assert one(store, "delta(c[4m])", 240) == 15.0  # gauges: no reset handling


def test_rate_extrapolates_by_half_an_interval_when_data_starts_late() -> None:
    """First sample 120 s after the window start (> 1.1 x 60 s): add 30 s, not 120 s."""
    store = store_with({"c": [(t, 100.0 + t) for t in (120, 180, 240, 300)]})
    # delta 180 over 180 s sampled; extrapolated to 180 + 30 + 0 = 210 s.
    assert one(store, "increase(c[5m])", 300) == pytest.approx(180 * 210 / 180, rel=1e-12)


def test_rate_extrapolation_stops_at_the_counters_zero_point() -> None:
    """A counter from 6 rising 60 per minute cannot be extrapolated below zero."""
    store = store_with({"c": [(60, 6.0), (120, 66.0), (180, 126.0)]})
    # Zero is reached 6 s before the first sample, sooner than the 60 s to the window start.
    assert one(store, "increase(c[3m])", 180) == pytest.approx(120 * (120 + 6) / 120)


def test_rate_needs_two_samples() -> None:
    """A single sample in the window gives no rate at all."""
    store = store_with({"c": [(0, 1.0)]})
    assert query(store, "rate(c[5m])", 60) == {}
    assert query(store, "irate(c[5m])", 60) == {}


def test_irate_and_idelta_use_the_last_two_samples() -> None:
    """irate treats a drop as a reset; idelta does not."""
    store = store_with({"c": [(0, 0.0), (60, 50.0), (90, 20.0)]})
    assert one(store, "irate(c[5m])", 90) == pytest.approx(20 / 30)
    assert one(store, "idelta(c[5m])", 90) == -30.0


def test_over_time_aggregations() -> None:
    """avg, min, max, sum, count, last, quantile, stddev, stdvar and present over time."""
    store = store_with({"g": [(0, 2.0), (60, 4.0), (120, 4.0), (180, 5.0)]})
    cases = {
        "avg_over_time": 3.75,
        "min_over_time": 2.0,
        "max_over_time": 5.0,
        "sum_over_time": 15.0,
        "count_over_time": 4.0,
        "last_over_time": 5.0,
        "present_over_time": 1.0,
        "stdvar_over_time": 1.1875,
        "stddev_over_time": math.sqrt(1.1875),
        "changes": 2.0,
    }
    for func, expected in cases.items():
        assert one(store, f"{func}(g[3m])", 180) == pytest.approx(expected, rel=1e-12), func
    assert one(store, "quantile_over_time(0.5, g[3m])", 180) == 4.0
    assert one(store, "quantile_over_time(0.25, g[3m])", 180) == 3.5


def test_range_functions_drop_the_name_except_last_over_time() -> None:
    """``last_over_time`` acts like an offset and keeps ``__name__``; others drop it."""
    store = store_with({'g{a="1"}': [(0, 1.0)]})
    assert query(store, "last_over_time(g[1m])", 0) == {(("__name__", "g"), ("a", "1")): 1.0}
    assert query(store, "max_over_time(g[1m])", 0) == {(("a", "1"),): 1.0}


def test_range_function_over_two_metrics_with_same_labels_is_an_error() -> None:
    """Dropping the name makes two series identical: Prometheus' duplicate-labelset error."""
    store = store_with({'a{x="1"}': [(0, 1.0)], 'b{x="1"}': [(0, 2.0)]})
    with pytest.raises(PromQLError, match="same labelset"):
        instant_query('max_over_time({__name__=~"a|b"}[1m])', store, 0)
    assert len(query(store, 'last_over_time({__name__=~"a|b"}[1m])', 0)) == 2


def test_histogram_quantile_interpolates_within_the_bucket() -> None:
    """Buckets 0.1:10, 0.5:30, +Inf:40; the median (rank 20) lies halfway into (0.1, 0.5]."""
    store = store_with(
        {
            'h_bucket{le="0.1",job="a"}': [(0, 10.0)],
            'h_bucket{le="0.5",job="a"}': [(0, 30.0)],
            'h_bucket{le="+Inf",job="a"}': [(0, 40.0)],
        }
    )
    assert query(store, "histogram_quantile(0.5, h_bucket)", 0) == {
        (("job", "a"),): pytest.approx(0.1 + (0.5 - 0.1) * 0.5)
    }
    assert one(store, "histogram_quantile(0.9, h_bucket)", 0) == 0.5  # in +Inf: highest bound
    assert one(store, "histogram_quantile(1.5, h_bucket)", 0) == math.inf
    assert math.isnan(one(store, 'histogram_quantile(0.5, h_bucket{le!="+Inf"})', 0))


def test_absent_builds_labels_from_equality_matchers() -> None:
    """absent() of nothing is 1 with the ``=`` matchers' labels; of something, empty."""
    store = store_with({'x{job="a"}': [(0, 1.0)]})
    assert query(store, 'absent(nope{job="a",env=~"p.*",z="1"})', 0) == {
        (("job", "a"), ("z", "1")): 1.0
    }
    assert query(store, 'absent(x{job="a"})', 0) == {}
    assert query(store, 'absent_over_time(nope{job="b"}[5m])', 0) == {(("job", "b"),): 1.0}
    assert query(store, 'absent_over_time(x{job="a"}[5m])', 60) == {}
    assert query(store, "absent(sum(nope))", 0) == {(): 1.0}


def test_label_replace_expands_go_style_references() -> None:
    """``$1``, ``${1}x``, unknown names and leading zeros behave as Go's Regexp.Expand."""
    store = store_with({'x{src="ab"}': [(0, 1.0)]})

    def dst(replacement: str) -> str | None:
        expr = f'label_replace(x, "dst", "{replacement}", "src", "(a)(b)")'
        [labels] = query(store, expr, 0)
        return dict(labels).get("dst")

    assert dst("$2-$1") == "b-a"
    assert dst("${1}x") == "ax"
    assert dst("$1x") is None  # "$1x" names a group "1x": empty, so the label is not set
    assert dst("$01") is None
    assert dst("$$1") == "$1"
    no_match = 'label_replace(x, "dst", "y", "src", "b")'  # anchored: "b" does not match "ab"
    assert query(store, no_match, 0) == {(("__name__", "x"), ("src", "ab")): 1.0}


def test_label_join_and_invalid_label_names() -> None:
    """label_join concatenates; an invalid destination name is an evaluation error."""
    store = store_with({'x{a="1",b="2"}': [(0, 1.0)]})
    [labels] = query(store, 'label_join(x, "c", "-", "a", "b", "missing")', 0)
    assert dict(labels)["c"] == "1-2-"
    with pytest.raises(PromQLError, match="invalid destination label"):
        instant_query('label_replace(x, "1bad", "y", "a", ".*")', store, 0)


def test_elementwise_math_drops_name_and_follows_ieee() -> None:
    """abs/ceil/floor/sqrt/ln/exp/sgn/clamp/round, with NaN and ±Inf where Go gives them."""
    store = store_with({'x{k="neg"}': [(0, -2.5)], 'x{k="zero"}': [(0, 0.0)]})
    assert query(store, "abs(x)", 0) == {(("k", "neg"),): 2.5, (("k", "zero"),): 0.0}
    assert one(store, 'ln(x{k="zero"})', 0) == -math.inf
    assert math.isnan(one(store, 'sqrt(x{k="neg"})', 0))
    assert one(store, 'sgn(x{k="neg"})', 0) == -1.0
    assert one(store, 'round(x{k="neg"})', 0) == -2.0  # ties round up
    assert one(store, 'round(x{k="neg"}, 2)', 0) == -2.0
    assert one(store, 'clamp(x{k="neg"}, -1, 1)', 0) == -1.0
    assert query(store, "clamp(x, 2, 1)", 0) == {}  # max below min: nothing
    assert one(store, 'clamp_min(x{k="neg"}, 0)', 0) == 0.0
    assert one(store, 'ceil(x{k="neg"})', 0) == -2.0
    assert one(store, 'exp(x{k="zero"}) + 1000 * 0', 0) == 1.0


def test_time_vector_scalar_and_timestamp() -> None:
    """time() is the evaluation time; timestamp(x) is the sample's own time."""
    store = store_with({"x": [(30, 5.0)], 'y{a="1"}': [(0, 1.0)], 'y{a="2"}': [(0, 2.0)]})
    assert scalar(store, "time()", 90) == 90.0
    assert one(store, "timestamp(x)", 90) == 30.0
    assert one(store, "timestamp(-x)", 90) == 90.0  # not a selector: evaluation time
    assert one(store, "vector(time())", 90) == 90.0
    assert scalar(store, "scalar(x)", 90) == 5.0
    assert math.isnan(scalar(store, "scalar(y)", 90))  # two elements


def test_date_functions_use_the_utc_calendar() -> None:
    """2024-02-29T13:45:00Z: leap day, Thursday, day 60 of the year."""
    store = MemoryStorage()
    t = 1709214300
    expected = {
        "year": 2024,
        "month": 2,
        "day_of_month": 29,
        "day_of_week": 4,
        "day_of_year": 60,
        "days_in_month": 29,
        "hour": 13,
        "minute": 45,
    }
    for func, value in expected.items():
        assert one(store, f"{func}(vector({t}))", 0) == value, func
        assert one(store, f"{func}()", t) == value, func


def test_date_functions_of_nan_give_gos_definite_answer() -> None:
    """Go converts NaN to the minimum int64; promtool 2.42 answers these values."""
    store = MemoryStorage()
    assert one(store, "year(vector(NaN))", 0) == 292277026596.0
    assert one(store, "month(vector(NaN))", 0) == 12.0
    assert one(store, "day_of_month(vector(NaN))", 0) == 4.0
    assert one(store, "hour(vector(-Inf))", 0) == 15.0


def test_sort_orders_by_value_with_nan_last() -> None:
    """sort() ascending and sort_desc() descending; both keep NaN at the end."""
    store = store_with(
        {'x{a="1"}': [(0, 3.0)], 'x{a="2"}': [(0, math.nan)], 'x{a="3"}': [(0, 1.0)]}
    )
    result = instant_query("sort(x)", store, 0)
    assert isinstance(result, list)
    assert [s.labels["a"] for s in result] == ["3", "1", "2"]
    result = instant_query("sort_desc(x)", store, 0)
    assert isinstance(result, list)
    assert [s.labels["a"] for s in result] == ["1", "3", "2"]


def test_native_histogram_functions_find_nothing_in_a_float_store() -> None:
    """histogram_count/sum only see native histograms, which aiwatch never stores."""
    store = store_with({"x": [(0, 1.0)]})
    assert query(store, "histogram_count(x)", 0) == {}


def test_scalar_query_returns_scalar() -> None:
    """A scalar expression's result is a ``Scalar``."""
    assert instant_query("1 + 2 * 3", MemoryStorage(), 0) == Scalar(7.0)


def test_holt_winters_smooths_and_validates_its_factors() -> None:
    """Prometheus 2's holt_winters: a linear series is followed exactly; bad factors error."""
    store = store_with({"g": [(60 * i, 10.0 + 2 * i) for i in range(6)]})
    assert one(store, "holt_winters(g[5m], 0.5, 0.5)", 300) == pytest.approx(20.0)
    with pytest.raises(PromQLError, match="invalid smoothing factor"):
        instant_query("holt_winters(g[5m], 1, 0.5)", store, 300_000)
