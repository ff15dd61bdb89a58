"""Query threads give way to the event loop while it is busy, and run freely while it is idle."""

import asyncio
import time

import pytest

from aiwatch.promql import pacing
from aiwatch.promql.limits import Budget, QueryLimits
from aiwatch.promql.runner import QueryRunner


class FakeTime:
    """The clock ``pacing`` reads and sleeps on: sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = lambda: None

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(pacing, "time", fake)
    return fake


def test_give_way_sleeps_until_the_loop_has_stamped_again(clock: FakeTime) -> None:
    """With a late heartbeat, ``give_way`` sleeps (leaving the interpreter lock to the loop)
    and returns as soon as the loop has stamped it again; with a fresh one, or outside a
    query thread, it does not sleep at all."""
    heart = pacing.Heartbeat()
    clock.on_sleep = lambda: heart.stamp() if len(clock.sleeps) == 3 else None
    pacing.give_way()
    with pacing.serving(heart):
        pacing.give_way()
        clock.now += pacing.LATE_S / 2  # working, the loop stamping on time
        pacing.give_way()
        assert clock.sleeps == []
        clock.now += pacing.LATE_S  # the loop is late now
        pacing.give_way()
    assert clock.sleeps == [pacing.PAUSE_S] * 3
    assert pacing.current() is None


def test_a_busy_loop_slows_a_query_down_but_never_stops_it(clock: FakeTime) -> None:
    """While the heartbeat is never stamped again, a thread that works 1 ms between its
    calls of ``give_way`` pauses at most ``RATIO`` times as long as it works."""
    heart = pacing.Heartbeat()
    clock.now += 1.0
    with pacing.serving(heart):
        for _ in range(100):
            clock.now += 0.001
            pacing.give_way()
    paused = sum(clock.sleeps)
    assert 0 < paused <= pacing.RATIO * 0.1 + 1e-9


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
