"""The local sample store: appends, selection, retention, staleness marker."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.promql import STALE_NAN, LabelMatcher, MemoryStorage, instant_query, is_stale
from aiwatch.promql.range_functions import extrapolated_rate
from aiwatch.promql.storage import MAX_DROPS


def _store() -> MemoryStorage:
    store = MemoryStorage()
    for t in range(0, 60_000, 15_000):
        store.append({"__name__": "up", "job": "a"}, t, 1.0)
        store.append({"__name__": "up", "job": "b"}, t, 0.0)
    store.append({"__name__": "other", "job": "a"}, 0, 5.0)
    return store


def test_stale_marker_is_distinguished_from_ordinary_nan() -> None:
    """Only Prometheus' exact staleness bit pattern counts as stale, not every NaN."""
    assert math.isnan(STALE_NAN)
    assert is_stale(STALE_NAN)
    assert not is_stale(math.nan)
    assert not is_stale(1.0)


def test_select_filters_by_all_four_matcher_kinds() -> None:
    """=, !=, =~ and !~ matchers select the right series, sorted by labels."""
    store = _store()
    name = LabelMatcher("__name__", "=", "up")

    def jobs(*matchers: LabelMatcher) -> list[str]:
        return [dict(labels)["job"] for labels, _, _ in store.select(matchers, 0, 60_000)]

    assert jobs(name) == ["a", "b"]
    assert jobs(name, LabelMatcher("job", "!=", "a")) == ["b"]
    assert jobs(LabelMatcher("__name__", "=~", "u.|oth.*"), LabelMatcher("job", "=~", "a")) == [
        "a",
        "a",
    ]
    assert jobs(name, LabelMatcher("job", "!~", "a|c")) == ["b"]


def test_regex_matchers_are_anchored() -> None:
    """A regex must match the whole label value, as in Prometheus."""
    store = _store()
    found = list(store.select([LabelMatcher("__name__", "=~", "u")], 0, 60_000))
    assert found == []


def test_matcher_on_missing_label_sees_empty_string() -> None:
    """``foo=""`` matches series without the label ``foo``."""
    store = _store()
    found = list(store.select([LabelMatcher("instance", "=", "")], 0, 60_000))
    assert len(found) == 3


def test_select_window_includes_both_ends() -> None:
    """Samples exactly at ``mint`` and ``maxt`` are returned."""
    store = _store()
    [(_, times, values)] = store.select(
        [LabelMatcher("__name__", "=", "up"), LabelMatcher("job", "=", "a")], 15_000, 30_000
    )
    assert list(times) == [15_000, 30_000]
    assert list(values) == [1.0, 1.0]


def test_out_of_order_append_is_rejected_and_same_timestamp_replaces() -> None:
    """An older sample raises; a sample at the newest timestamp replaces the value."""
    store = MemoryStorage()
    store.append({"__name__": "x"}, 1000, 1.0)
    store.append({"__name__": "x"}, 1000, 2.0)
    with pytest.raises(ValueError, match="out-of-order"):
        store.append({"__name__": "x"}, 999, 3.0)
    [(_, times, values)] = store.select([LabelMatcher("__name__", "=", "x")], 0, 2000)
    assert (list(times), list(values)) == ([1000], [2.0])
    assert store.sample_count() == 1


def test_drop_before_forgets_old_samples_and_empty_series() -> None:
    """Retention removes samples older than the cut and series left empty."""
    store = _store()
    assert (store.series_count(), store.sample_count()) == (3, 9)
    store.drop_before(30_000)
    assert (store.series_count(), store.sample_count()) == (2, 4)
    assert list(store.select([LabelMatcher("__name__", "=", "other")], 0, 60_000)) == []
    store.append({"__name__": "other", "job": "a"}, 70_000, 1.0)
    assert store.series_count() == 3


def test_empty_label_values_do_not_create_labels() -> None:
    """A label with an empty value is the same series as one without it."""
    store = MemoryStorage()
    store.append({"__name__": "x", "a": ""}, 0, 1.0)
    store.append({"__name__": "x"}, 1, 2.0)
    assert store.series_count() == 1


def test_selection_sees_series_added_and_removed_after_a_query() -> None:
    """A selector asked before a new series of its metric appears still finds it afterwards."""
    store = _store()
    name = [LabelMatcher("__name__", "=", "up")]
    any_name = [LabelMatcher("job", "=", "c")]
    assert [dict(k)["job"] for k, _, _ in store.select(name, 0, 60_000)] == ["a", "b"]
    assert store.select(any_name, 0, 60_000) == []
    store.append({"__name__": "up", "job": "c"}, 60_000, 1.0)
    store.append({"__name__": "other", "job": "c"}, 60_000, 1.0)
    assert [dict(k)["job"] for k, _, _ in store.select(name, 0, 60_000)] == ["a", "b", "c"]
    assert [dict(k)["__name__"] for k, _, _ in store.select(any_name, 0, 60_000)] == [
        "other",
        "up",
    ]
    store.drop_before(60_000)
    assert [dict(k)["job"] for k, _, _ in store.select(name, 0, 60_000)] == ["c"]


def _scanned_resets(values: list[float]) -> list[float]:
    """The value before every reset, by comparing neighbours (stale markers removed)."""
    return [a for a, b in itertools.pairwise(values) if b < a]


@settings(max_examples=300, deadline=None)
@given(
    samples=st.lists(
        st.one_of(
            st.sampled_from([0.0, 1.0, 2.0, 5.0, -1.0, math.nan, STALE_NAN]),
            st.floats(allow_nan=False, allow_infinity=True, width=64),
        ),
        min_size=1,
        max_size=40,
    ),
    window=st.tuples(st.integers(-1, 45), st.integers(0, 45)),
    cut=st.integers(0, 45),
    replace_at=st.one_of(st.none(), st.integers(0, 39)),
)
def test_counter_windows_know_their_resets(
    samples: list[float], window: tuple[int, int], cut: int, replace_at: int | None
) -> None:
    """``select_counters`` gives the same values before resets as comparing the samples.

    The store notes resets as samples arrive; windows anywhere in the series, stale markers,
    real NaNs, retention cuts and a replaced newest sample must not make it disagree.
    """
    store = MemoryStorage()
    labels = {"__name__": "c_total"}
    for i, value in enumerate(samples):
        store.append(labels, i * 1000, value)
        if replace_at == i:
            store.append(labels, i * 1000, 3.0)
    store.drop_before(cut * 1000)
    mint, maxt = min(window) * 1000, max(window) * 1000
    matchers = [LabelMatcher("__name__", "=", "c_total")]
    plain = store.select(matchers, mint, maxt, drop_stale=True)
    counters = store.select_counters(matchers, mint, maxt)
    assert repr([(k, list(t), list(v)) for k, t, v in plain]) == repr(
        [(k, list(t), list(v)) for k, t, v, _ in counters]
    )
    for _, _times, values, resets in counters:
        assert not any(is_stale(v) for v in values)
        if resets is not None:
            assert repr(list(resets)) == repr(_scanned_resets(list(values)))
        else:
            assert replace_at is not None
            assert replace_at < len(samples)


def test_a_gauge_past_max_drops_keeps_no_reset_notes() -> None:
    """A series that falls more than ``MAX_DROPS`` times (a gauge) stops keeping its reset
    notes, so they cost no memory; ``select_counters`` then leaves the resets to the caller,
    and ``increase`` over any window is what comparing every sample gives. A counter with a
    few resets keeps its notes."""
    store = MemoryStorage()
    gauge, counter = {"__name__": "g"}, {"__name__": "c_total"}
    total = 0.0
    for i in range(3 * MAX_DROPS):
        store.append(gauge, i * 15_000, float(i % 2))
        total = 0.0 if i % 50 == 49 else total + 1.0
        store.append(counter, i * 15_000, total)
    end = (3 * MAX_DROPS - 1) * 15_000
    assert store._series[(("__name__", "g"),)].drops is None
    assert store._series[(("__name__", "g"),)].drop_prev is None
    for window_ms in (60_000, 600_000, 3_600_000):
        for name, key in (("g", gauge), ("c_total", counter)):
            found = store.select_counters(
                [LabelMatcher("__name__", "=", name)], end - window_ms, end
            )
            [(_, times, values, resets)] = found
            if key is gauge:
                assert resets is None
            else:
                assert resets is not None
                assert list(resets) == _scanned_resets(list(values))
            expected = extrapolated_rate(
                times,
                values,
                range_start_ms=end - window_ms,
                range_end_ms=end,
                range_s=window_ms / 1000,
                is_counter=True,
                is_rate=False,
                resets=_scanned_resets(list(values)),
            )
            [got] = instant_query(f"increase({name}[{window_ms // 1000}s])", store, end)
            assert repr(got.value) == repr(expected)
