"""Query threads give way to the event loop while it is busy, and run freely while it is idle."""

import asyncio
import time

import pytest

from aiwatch.promql import pacing
from aiwatch.promql.limits import Budget, QueryLimits
from aiwatch.promql.runner import QueryRunner


def test_give_way_sleeps_until_the_loop_has_stamped_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a late heartbeat, ``give_way`` sleeps (leaving the interpreter lock to the loop)
    and returns as soon as the loop has stamped it again; with a fresh one, or outside a
    query thread, it does not sleep at all."""
    heart = pacing.Heartbeat()
    sleeps: list[float] = []

    def loop_catches_up(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            heart.stamp()

    monkeypatch.setattr(pacing.time, "sleep", loop_catches_up)
    pacing.give_way()
    assert sleeps == []
    with pacing.serving(heart):
        pacing.give_way()
        assert sleeps == []
        heart.beat = time.monotonic() - 1.0
        pacing.give_way()
    assert sleeps == [pacing.PAUSE_S] * 3
    assert pacing.current() is None


def test_give_way_never_waits_longer_than_its_bound() -> None:
    """A loop that stays busy slows a query down but never stops it: one ``give_way``
    returns after about ``MAX_PAUSE_S`` even if the heartbeat is never stamped again."""
    heart = pacing.Heartbeat()
    heart.beat = time.monotonic() - 1.0
    started = time.monotonic()
    with pacing.serving(heart):
        pacing.give_way()
    assert time.monotonic() - started >= pacing.MAX_PAUSE_S
    assert heart.beat < started


async def test_the_loop_stamps_the_heartbeat_only_while_a_query_runs() -> None:
    """A query thread sees the stamp move while it runs; once no query runs, the loop stops
    stamping (no wake-ups of an idle daemon)."""
    runner = QueryRunner(QueryLimits(timeout_s=10))
    seen: set[float] = set()
    hearts: list[pacing.Heartbeat] = []

    def work(budget: Budget) -> int:
        heart = pacing.current()
        assert heart is not None
        hearts.append(heart)
        deadline = time.monotonic() + 0.1
        while time.monotonic() < deadline:
            budget.check()
            seen.add(heart.beat)
            time.sleep(0.002)
        return len(seen)

    try:
        assert await runner.run(work, lane="rules") >= 3
        after = hearts[0].beat
        await asyncio.sleep(3 * pacing.BEAT_S)
        assert hearts[0].beat == after
    finally:
        runner.close()
