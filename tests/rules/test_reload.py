"""Reloads and stops never drop an alert event: groups stop only between evaluations."""

import asyncio
from collections.abc import Sequence

import pytest

from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.events import AlertEvent
from aiwatch.rules.manager import ManagerOptions, RuleManager
from aiwatch.rules.model import GroupSpec, RuleSpec
from aiwatch.rules.query import LocalQuery
from aiwatch.rules.types import Result
from tests.rules.test_manager import START_S, FakeClock

MIN = 60_000


class Stepper:
    """Counts the await points of an evaluation and holds one of them until released."""

    def __init__(self) -> None:
        self.reached: list[str] = []
        self.hold_at: int | None = None
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def point(self, name: str) -> None:
        self.reached.append(name)
        if len(self.reached) - 1 == self.hold_at:
            self.held.set()
            await self.release.wait()


class SteppedSink:
    """Keeps events like ``MemorySink``, after an await point the test controls."""

    def __init__(self, stepper: Stepper) -> None:
        self.stepper = stepper
        self.events: list[AlertEvent] = []

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        await self.stepper.point("sink")
        self.events.extend(events)


def spec(summary: str = "down") -> GroupSpec:
    """One group: an alert without ``for`` and a recording rule (two queries, one sink call)."""
    rules = (
        RuleSpec(kind="alert", name="Down", expr="up == 0", annotations=(("summary", summary),)),
        RuleSpec(kind="record", name="job:up:min", expr="min by (job) (up)"),
    )
    return GroupSpec(name="g", file="rules.yml", rules=rules, interval_s=60.0)


def other() -> GroupSpec:
    """A second group no reload here changes."""
    rules = (RuleSpec(kind="record", name="one", expr="vector(1)"),)
    return GroupSpec(name="other", file="rules.yml", rules=rules, interval_s=60.0)


def manager_for(storage: MemoryStorage, stepper: Stepper, clock: FakeClock) -> RuleManager:
    local = LocalQuery(storage)

    async def query(expr: str, t_ms: int) -> Result:
        await stepper.point(f"query {expr}")
        return await local(expr, t_ms)

    return RuleManager(
        [spec(), other()],
        query=query,
        appender=storage,
        sink=SteppedSink(stepper),
        clock=clock,
        template_query=local.for_templates,
        options=ManagerOptions(evaluation_interval_s=60.0),
    )


def balanced(events: list[AlertEvent]) -> bool:
    """Every alert that fired has a ``resolved`` after its last ``firing``."""
    last: dict[str, str] = {}
    for event in events:
        last[event.fingerprint] = event.state
    return all(state == "resolved" for state in last.values())


async def firing_then_resolving(stepper: Stepper) -> tuple[RuleManager, FakeClock]:
    """A started manager whose alert fires; ``up`` is 0 → 1 for the next evaluation."""
    storage, clock = MemoryStorage(), FakeClock(START_S)
    manager = manager_for(storage, stepper, clock)
    await manager.start()
    first = manager.groups[0].eval_timestamp(round(START_S * 1000)) + MIN
    storage.append({"__name__": "up", "job": "api"}, first - 1, 0)
    await clock.advance(60)
    assert [a.state for a in manager.active_alerts()] == ["firing"]
    storage.append({"__name__": "up", "job": "api"}, first + 1, 1)
    return manager, clock


# The await points of one evaluation of group "g": its two queries and the sink call.
POINTS = ["query up == 0", "query min by (job) (up)", "sink"]


@pytest.mark.parametrize("action", ["reload", "stop"])
@pytest.mark.parametrize("point", range(len(POINTS)), ids=POINTS)
async def test_a_reload_or_stop_at_any_await_point_keeps_the_resolved_event(
    action: str, point: int
) -> None:
    """Whatever await point an evaluation is at when a reload (changing its group) or a
    stop arrives, the evaluation finishes first and the sink gets the ``resolved``."""
    stepper = Stepper()
    manager, clock = await firing_then_resolving(stepper)
    sink = manager.sink
    assert isinstance(sink, SteppedSink)
    stepper.reached.clear()
    stepper.hold_at = point
    advancing = asyncio.create_task(clock.advance(60))
    await asyncio.wait_for(stepper.held.wait(), 5)
    assert stepper.reached[point] == POINTS[point]
    if action == "reload":
        acting = asyncio.create_task(manager.update([spec("changed"), other()]))
    else:
        acting = asyncio.create_task(manager.stop())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not acting.done(), "the group must not stop in the middle of an evaluation"
    stepper.release.set()
    await asyncio.wait_for(acting, 5)
    await advancing
    assert [e.state for e in sink.events if e.changed] == ["firing", "resolved"]
    assert balanced(sink.events)
    assert manager.active_alerts() == []
    await manager.stop()


async def test_a_reload_leaves_unchanged_groups_running_untouched() -> None:
    """An unchanged group keeps its object, task and slots; a changed one is replaced and
    its firing alert carries over to the new group (no second ``firing`` transition)."""
    stepper = Stepper()
    storage, clock = MemoryStorage(), FakeClock(START_S)
    manager = manager_for(storage, stepper, clock)
    await manager.start()
    t0 = round(START_S * 1000)
    for step in range(40):
        storage.append({"__name__": "up", "job": "api"}, t0 + step * 10_000, 0)
    await clock.advance(60)
    g, kept = manager.groups
    kept_task = manager._runners[kept.key].task
    kept_last = kept.last_evaluation_ms
    await manager.update([spec("changed"), other()])
    new_g, still = manager.groups
    assert still is kept
    assert manager._runners[kept.key].task is kept_task
    assert new_g is not g
    assert [a.state for a in manager.active_alerts()] == ["firing"]
    await clock.advance(60)
    assert still.last_evaluation_ms == (kept_last or 0) + MIN
    sink = manager.sink
    assert isinstance(sink, SteppedSink)
    transitions = [(e.state, e.annotations["summary"]) for e in sink.events if e.changed]
    assert transitions == [("firing", "down")]
    assert sink.events[-1].annotations == {"summary": "changed"}
    await manager.stop()
