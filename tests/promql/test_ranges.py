"""Range queries in the evaluator: steps, ``@ start()``/``@ end()``, and the sample limit."""

import pytest

from aiwatch.promql.limits import Budget, QueryLimits, TooManySamplesError, Unlimited
from aiwatch.promql.ranges import Matrix, range_query
from aiwatch.promql.storage import MemoryStorage
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
