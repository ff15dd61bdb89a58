"""Queries in worker threads: the event loop keeps running, limits and cancellation hold."""

import asyncio
import time

import pytest

from aiwatch.promql import MemoryStorage, instant_query, parse
from aiwatch.promql.limits import QueryCanceledError, QueryLimits, QueryTimeoutError
from aiwatch.promql.runner import QueryRunner

SLOW = "max_over_time(max_over_time(x[10m:1s])[10m:1s])"
"""About 360,000 inner evaluations: many seconds of work, checked between steps."""


def _store() -> MemoryStorage:
    store = MemoryStorage()
    for i in range(20):
        for t in range(40):
            store.append({"__name__": "x", "i": str(i)}, t * 15_000, float(t))
    return store


async def _max_gap(until: asyncio.Future[object]) -> float:
    """The longest the loop took to wake a 5 ms sleeper until ``until`` is done."""
    worst = 0.0
    while not until.done():
        started = time.monotonic()
        await asyncio.sleep(0.005)
        worst = max(worst, time.monotonic() - started - 0.005)
    return worst


async def test_a_query_runs_off_the_loop_and_answers_like_the_engine() -> None:
    """The result is the engine's; meanwhile the loop keeps waking sleepers on time."""
    store = _store()
    runner = QueryRunner(QueryLimits(timeout_s=30))
    try:
        expr = "sum(max_over_time(x[10m:1s]))"
        task = asyncio.ensure_future(runner.query(parse(expr), store, 600_000))
        gap = await _max_gap(task)
        assert await task == instant_query(expr, store, 600_000)
    finally:
        runner.close()
    assert gap < 0.1, f"the loop was held {gap * 1000:.0f} ms"


async def test_a_slow_query_times_out_while_the_loop_stays_free() -> None:
    """A query past --query.timeout fails with Prometheus' words soon after the deadline."""
    runner = QueryRunner(QueryLimits(timeout_s=0.5))
    try:
        started = time.monotonic()
        task = asyncio.ensure_future(runner.query(parse(SLOW), _store(), 600_000))
        gap = await _max_gap(task)
        with pytest.raises(QueryTimeoutError, match=r"^query timed out in expression evaluation$"):
            await task
    finally:
        runner.close()
    assert time.monotonic() - started < 1.5
    assert gap < 0.1, f"the loop was held {gap * 1000:.0f} ms"


async def test_waiting_for_a_worker_counts_against_the_timeout() -> None:
    """With one API worker busy, a second API query times out in the queue; a rule query
    has its own worker and answers at once."""
    store = _store()
    runner = QueryRunner(QueryLimits(timeout_s=1.0, max_concurrency=1))
    try:
        busy = asyncio.ensure_future(runner.query(parse(SLOW), store, 600_000))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        rule = await runner.query(parse("sum(x)"), store, 600_000, lane="rules")
        assert time.monotonic() - started < 0.3
        assert rule == instant_query("sum(x)", store, 600_000)
        with pytest.raises(QueryTimeoutError, match=r"^query timed out in query queue$"):
            await runner.query(parse("sum(x)"), store, 600_000, timeout_s=0.3)
        with pytest.raises(QueryTimeoutError):
            await busy
    finally:
        runner.close()


async def test_close_stops_a_running_query_at_once() -> None:
    """Stopping the daemon cancels running queries; they end within a step or so."""
    runner = QueryRunner(QueryLimits(timeout_s=60))
    task = asyncio.ensure_future(runner.query(parse(SLOW), _store(), 600_000))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    runner.close()
    with pytest.raises(QueryCanceledError):
        await task
    assert time.monotonic() - started < 0.5


async def test_a_caller_that_goes_away_cancels_its_query() -> None:
    """Cancelling the awaiting task (a client that disconnected) stops the thread too,
    which frees its worker for the next query."""
    store = _store()
    runner = QueryRunner(QueryLimits(timeout_s=60, max_concurrency=1))
    try:
        task = asyncio.ensure_future(runner.query(parse(SLOW), store, 600_000))
        await asyncio.sleep(0.2)
        task.cancel()
        started = time.monotonic()
        result = await runner.query(parse("sum(x)"), store, 600_000)
        assert time.monotonic() - started < 0.5
        assert result == instant_query("sum(x)", store, 600_000)
    finally:
        runner.close()
