"""Query limits inside the evaluator: deadline, sample budget, subquery steps, cancellation."""

import threading
import time

import pytest

from aiwatch.promql import MemoryStorage, PromQLError, instant_query
from aiwatch.promql.limits import (
    Budget,
    QueryCanceledError,
    QueryLimits,
    QueryTimeoutError,
    TooManySamplesError,
)


def _store(series: int, samples: int) -> MemoryStorage:
    store = MemoryStorage()
    for i in range(series):
        for t in range(samples):
            store.append({"__name__": "x", "i": str(i)}, t * 15_000, float(t))
    return store


def test_a_query_past_its_deadline_stops_with_prometheus_words() -> None:
    """A long nested subquery stops soon after the timeout, as 'query timed out in …'."""
    store = _store(20, 40)
    budget = Budget(QueryLimits(timeout_s=0.2))
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"^query timed out in expression evaluation$"):
        instant_query(
            "max_over_time(max_over_time(x[10m:1s])[10m:1s])", store, 600_000, budget=budget
        )
    assert time.monotonic() - started < 1.0


def test_a_query_loading_too_many_samples_stops() -> None:
    """Range selectors count their samples; past max-samples the query fails with 422 words."""
    store = _store(10, 20)  # 200 samples
    assert instant_query("sum(count_over_time(x[1h]))", store, 300_000) != []
    budget = Budget(QueryLimits(max_samples=199))
    with pytest.raises(TooManySamplesError) as info:
        instant_query("sum(count_over_time(x[1h]))", store, 300_000, budget=budget)
    assert str(info.value) == (
        "query processing would load too many samples into memory in query execution"
    )
    assert (info.value.status, info.value.error_type) == (422, "execution")


def test_instant_selectors_and_subquery_points_count() -> None:
    """An instant selector counts one sample per series; a subquery each point it holds."""
    store = _store(10, 20)
    exact = Budget(QueryLimits(max_samples=10))
    instant_query("x", store, 285_000, budget=exact)
    assert exact.samples == 10
    # 4 steps (1m, 2m, 3m, 4m) × 10 series selected, and the 40 points the subquery holds.
    ok = Budget(QueryLimits(max_samples=80))
    instant_query("max_over_time(x[4m:1m])", store, 285_000, budget=ok)
    assert ok.samples == 80
    over = Budget(QueryLimits(max_samples=79))
    with pytest.raises(TooManySamplesError):
        instant_query("max_over_time(x[4m:1m])", store, 285_000, budget=over)


def test_a_subquery_with_too_many_steps_is_refused_before_any_work() -> None:
    """issue 19's first bomb: 86.4 million steps are refused at once, as bad data."""
    budget = Budget(QueryLimits())
    started = time.monotonic()
    with pytest.raises(PromQLError, match=r"subquery would evaluate 86400001 steps") as info:
        instant_query("sum_over_time(vector(1)[1000d:1s])", MemoryStorage(), 0, budget=budget)
    assert not isinstance(info.value, TooManySamplesError | QueryTimeoutError)
    assert time.monotonic() - started < 0.5
    # 11,000 steps are still fine.
    result = instant_query("sum_over_time(vector(1)[10999s:1s])", MemoryStorage(), 0, budget=budget)
    assert isinstance(result, list)
    assert result[0].value == 11_000


def test_without_a_budget_nothing_is_limited() -> None:
    """promtool has no limits, so ``aiwatch test rules`` (no budget) evaluates anything."""
    result = instant_query("sum_over_time(vector(1)[4h:1s])", MemoryStorage(), 0)
    assert isinstance(result, list)
    assert result[0].value == 14_401


def test_cancel_from_another_thread_stops_the_query() -> None:
    """``Budget.cancel`` (the daemon stopping) ends a running query at its next step."""
    store = _store(20, 40)
    budget = Budget(QueryLimits(timeout_s=60))
    errors: list[Exception] = []

    def work() -> None:
        try:
            instant_query(
                "max_over_time(max_over_time(x[10m:1s])[10m:1s])", store, 600_000, budget=budget
            )
        except PromQLError as err:
            errors.append(err)

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.2)
    cancelled = time.monotonic()
    budget.cancel()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - cancelled < 0.5
    assert len(errors) == 1
    assert isinstance(errors[0], QueryCanceledError)
