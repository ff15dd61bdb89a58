"""Instant and range selectors: lookback, staleness, offset, ``@``, subqueries."""

from collections.abc import Iterator, Sequence

import pytest

from aiwatch.promql import (
    STALE_NAN,
    LabelMatcher,
    Labels,
    MemoryStorage,
    PromQLError,
    instant_query,
)
from tests.promql.helpers import one, query, store_with


def test_lookback_window_is_five_minutes_inclusive() -> None:
    """A sample is visible for exactly 5 minutes after its timestamp, then disappears."""
    store = store_with({"x": [(0, 1.0)]})
    assert one(store, "x", 300) == 1.0
    assert query(store, "x", 300.001) == {}


def test_lookback_is_configurable() -> None:
    """``lookback_ms`` replaces the default 5-minute window."""
    store = store_with({"x": [(0, 1.0)]})
    assert instant_query("x", store, 60_000, lookback_ms=30_000) == []


def test_newest_sample_at_or_before_evaluation_time_wins() -> None:
    """The instant value is the newest sample not after the evaluation time."""
    store = store_with({"x": [(0, 1.0), (60, 2.0), (120, 3.0)]})
    assert one(store, "x", 119) == 2.0
    assert one(store, "x", 120) == 3.0


def test_stale_marker_ends_a_series_immediately() -> None:
    """After a stale marker the series is absent, until a new sample arrives."""
    store = store_with({"x": [(0, 1.0), (60, STALE_NAN), (180, 4.0)]})
    assert one(store, "x", 30) == 1.0
    assert query(store, "x", 60) == {}
    assert query(store, "x", 179) == {}
    assert one(store, "x", 180) == 4.0


def test_range_selector_skips_stale_markers_and_includes_both_ends() -> None:
    """``x[2m]`` at t holds the samples in [t-2m, t] except stale markers."""
    store = store_with({"x": [(0, 1.0), (60, STALE_NAN), (120, 3.0), (180, 4.0)]})
    assert one(store, "count_over_time(x[2m])", 120) == 2.0  # 0 and 120; 60 is stale
    assert one(store, "count_over_time(x[2m])", 180) == 2.0  # 120 and 180 (60 stale)
    assert one(store, "count_over_time(x[3m])", 180) == 3.0  # 0, 120 and 180


def test_offset_shifts_the_evaluation_time_back() -> None:
    """``offset 1m`` reads the value one minute earlier."""
    store = store_with({"x": [(0, 1.0), (60, 2.0), (120, 3.0)]})
    assert one(store, "x offset 1m", 120) == 2.0
    assert one(store, "sum_over_time(x[1m] offset 1m)", 120) == 3.0  # samples 0 and 60


def test_at_modifier_pins_the_time_and_combines_with_offset() -> None:
    """``@ t`` evaluates at t whatever the query time; offset applies on top."""
    store = store_with({"x": [(0, 1.0), (60, 2.0), (120, 3.0)]})
    assert one(store, "x @ 60", 120) == 2.0
    assert one(store, "x @ 120 offset 1m", 60) == 2.0
    assert one(store, "x @ end()", 60) == 2.0  # end() is the query time


def test_regex_and_negative_matchers_select_series() -> None:
    """``=~`` and ``!~`` are anchored; ``!=`` keeps series without the label."""
    store = store_with({'x{a="one"}': [(0, 1.0)], 'x{a="two"}': [(0, 2.0)], "x": [(0, 3.0)]})
    assert set(query(store, 'x{a=~"o.*"}', 0).values()) == {1.0}
    assert set(query(store, 'x{a!~"t.*"}', 0).values()) == {1.0, 3.0}
    assert set(query(store, 'x{a!="one"}', 0).values()) == {2.0, 3.0}
    assert set(query(store, 'x{a=""}', 0).values()) == {3.0}


def test_subquery_evaluates_inner_expression_at_aligned_steps() -> None:
    """``expr[5m:1m]`` samples the inner expression at multiples of the step."""
    store = store_with({"x": [(t, float(t)) for t in range(0, 601, 30)]})
    # Steps 300, 360, ..., 600 -> 6 points; max is the value at 600.
    assert one(store, "count_over_time(x[5m:1m])", 600) == 6.0
    assert one(store, "max_over_time(x[5m:1m])", 630) == 600.0  # steps 360 ... 600
    assert one(store, "min_over_time(x[5m:1m])", 610) == 360.0  # first step >= 310 is 360


def test_subquery_without_step_uses_the_configured_default() -> None:
    """``expr[5m:]`` uses ``subquery_step_ms``, like Prometheus' evaluation interval."""
    store = store_with({"x": [(t, float(t)) for t in range(0, 601, 30)]})
    result = instant_query("count_over_time(x[5m:])", store, 600_000, subquery_step_ms=30_000)
    assert isinstance(result, list)
    assert result[0].value == 11.0


class _View:
    """A storage view with only ``select``, as the rules engine may pass."""

    def __init__(self, inner: MemoryStorage) -> None:
        self.inner = inner
        self.calls = 0

    def select(
        self, matchers: Sequence[LabelMatcher], mint_ms: int, maxt_ms: int
    ) -> Iterator[tuple[Labels, Sequence[int], Sequence[float]]]:
        self.calls += 1
        for labels, times, values in self.inner.select(matchers, mint_ms, maxt_ms):
            yield labels, list(times), list(values)


def test_any_object_with_select_is_a_storage() -> None:
    """The evaluator needs only ``select``, so a storage view works."""
    view = _View(store_with({"x": [(0, 1.0)]}))
    result = instant_query("x + x", view, 0)
    assert isinstance(result, list)
    assert result[0].value == 2.0
    assert view.calls == 2


def test_at_modifier_reading_the_future_is_allowed() -> None:
    """``@`` may point after the query time; the store answers whatever it holds."""
    store = store_with({"x": [(0, 1.0), (600, 5.0)]})
    assert one(store, "x @ 600", 0) == 5.0


@pytest.mark.parametrize("expr", ["x[5m]", "x[5m:1m]"])
def test_top_level_range_vector_is_rejected(expr: str) -> None:
    """A rule must produce an instant vector or a scalar, never a range vector."""
    with pytest.raises(PromQLError, match="range vector"):
        instant_query(expr, MemoryStorage(), 0)
