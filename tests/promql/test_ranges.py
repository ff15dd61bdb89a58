"""Range queries in the evaluator: steps, ``@ start()``/``@ end()``, the sample limit, and
each step equal to the instant query at its time."""

import math

import pytest

from aiwatch.promql.engine import instant_query
from aiwatch.promql.limits import Budget, QueryLimits, TooManySamplesError, Unlimited
from aiwatch.promql.ranges import Matrix, range_query
from aiwatch.promql.storage import STALE_NAN, Labels, MemoryStorage, labels_of
from aiwatch.promql.syntax import parse_any


def _store() -> MemoryStorage:
    store = MemoryStorage()
    for t_ms in range(0, 100_000, 1000):
        store.append({"__name__": "x"}, t_ms, t_ms / 1000)
    return store


def _run(expr: str, budget: Budget, start_ms: int = 20_000, end_ms: int = 40_000) -> Matrix:
    return range_query(
        parse_any(expr),
        _store(),
        start_ms,
        end_ms,
        1000,
        lookback_ms=300_000,
        subquery_step_ms=60_000,
        budget=budget,
    )


def test_steps_run_from_start_to_end_and_at_modifiers_pin_to_them() -> None:
    """Points at start, start + step, … ≤ end, unaligned; ``@ start()`` is the range's start."""
    ((_, times, values),) = _run("x", Unlimited(), 20_500, 25_000)
    assert list(times) == [20_500, 21_500, 22_500, 23_500, 24_500]
    assert list(values) == [20.0, 21.0, 22.0, 23.0, 24.0]
    ((_, _, pinned),) = _run("x @ start()", Unlimited(), 20_500, 25_000)
    assert set(pinned) == {20.0}
    ((_, _, pinned),) = _run("x @ end()", Unlimited(), 20_500, 25_000)
    assert set(pinned) == {25.0}


def test_the_sample_limit_counts_points_held_not_every_step_loaded() -> None:
    """As Prometheus: the result so far plus one step's samples; 21 steps of 11 samples
    (231 in all) pass a limit of 40, and fail one of 25 once the result holds 15 points."""
    result = _run("sum_over_time(x[10s])", Budget(QueryLimits(max_samples=40)))
    assert len(result[0][1]) == 21
    with pytest.raises(TooManySamplesError):
        _run("sum_over_time(x[10s])", Budget(QueryLimits(max_samples=25)))


def _resetting_store() -> MemoryStorage:
    """Counters that reset, one with a stale gap, a gauge; samples every 7 s for 20 min."""
    store = MemoryStorage()
    for i, t_ms in enumerate(range(0, 1_200_000, 7000)):
        store.append({"__name__": "c", "k": "a"}, t_ms, float(i % 37))
        store.append({"__name__": "c", "k": "b"}, t_ms, float(i * 3 % 101))
        gauge = STALE_NAN if 60 <= i < 70 else float(i % 11)
        store.append({"__name__": "g"}, t_ms, gauge)
    return store


SLIDING = [
    "rate(c[1m])",
    "increase(c[2m] offset 1m)",
    "sum by (k) (rate(c[30s]))",
    "resets(c[5m])",
    "g",
    "max_over_time(g[1m])",
    "rate(c[1m] @ 300)",
    "max_over_time(rate(c[1m])[3m:20s])",
    "g offset 10m",
    "c - c offset 2m",
]


@pytest.mark.parametrize("expr", SLIDING)
def test_each_step_equals_the_instant_query_at_its_time(expr: str) -> None:
    """A range query reads each selector's series once and slices it per step: every step
    still equals the instant query at that time, counter resets, stale gaps, offsets, ``@``
    and subqueries included."""
    store = _resetting_store()
    matrix = range_query(
        parse_any(expr),
        store,
        400_500,
        1_100_500,
        10_000,
        lookback_ms=300_000,
        subquery_step_ms=20_000,
        budget=Unlimited(),
    )
    assert matrix
    by_time: dict[int, dict[Labels, float]] = {}
    for labels, times, values in matrix:
        for t_ms, value in zip(times, values, strict=True):
            by_time.setdefault(t_ms, {})[labels] = value
    for t_ms in range(400_500, 1_100_501, 10_000):
        expected = instant_query(
            parse_any(expr),
            store,
            t_ms,
            lookback_ms=300_000,
            subquery_step_ms=20_000,
            budget=Unlimited(),
        )
        assert isinstance(expected, list)
        want = {labels_of(s.labels): s.value for s in expected}
        got = by_time.get(t_ms, {})
        assert got.keys() == want.keys(), t_ms
        for labels, value in want.items():
            assert got[labels] == value or (math.isnan(value) and math.isnan(got[labels]))
