"""The rule manager: aligned scheduling, alert events to the sink, datasource mode, restarts."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.events import MemorySink
from aiwatch.rules.manager import ManagerOptions, RuleManager
from aiwatch.rules.model import GroupSpec, RuleSpec
from aiwatch.rules.query import DatasourceQuery, LocalQuery
from aiwatch.rules.types import Result
from tests.clock import FakeClock

MIN = 60_000
START_S = 1_800_000_000.0


def _group(for_s: float = 60.0, *, expr: str = "errors > 0") -> GroupSpec:
    rules = (
        RuleSpec(
            kind="alert",
            name="Errors",
            expr=expr,
            for_s=for_s,
            labels=(("severity", "page"),),
            annotations=(("summary", "{{ $labels.job }}: {{ $value }}"),),
        ),
        RuleSpec(kind="record", name="job:errors:sum", expr="sum by (job) (errors)"),
    )
    return GroupSpec(name="g", file="rules.yml", rules=rules, interval_s=60.0)


def _manager(
    storage: MemoryStorage, sink: MemorySink, clock: FakeClock, state_dir: Path | None = None
) -> RuleManager:
    query = LocalQuery(storage)
    return RuleManager(
        [_group()],
        query=query,
        appender=storage,
        sink=sink,
        clock=clock,
        state_dir=str(state_dir) if state_dir else None,
        template_query=query.for_templates,
        options=ManagerOptions(evaluation_interval_s=60.0),
    )


async def test_groups_run_on_aligned_slots() -> None:
    """Evaluations happen at the group's hash-offset slots, one interval apart."""
    storage, sink, clock = MemoryStorage(), MemorySink(), FakeClock(START_S)
    manager = _manager(storage, sink, clock)
    group = manager.groups[0]
    first = group.eval_timestamp(round(START_S * 1000)) + MIN
    seen: list[int] = []
    manager.on_evaluated = lambda name, seconds: seen.append(group.last_evaluation_ms or 0)
    await manager.start()
    await clock.advance(200)
    await manager.stop()
    # The first slot lies within the first interval; 200 s then hold four slots.
    assert START_S * 1000 < first <= START_S * 1000 + MIN
    assert seen == [first + i * MIN for i in range(4)]
    assert first % MIN == group.eval_timestamp(0) % MIN


async def test_events_pending_firing_resolved() -> None:
    """The sink sees pending, then firing, then resolved, under one stable fingerprint."""
    storage, sink, clock = MemoryStorage(), MemorySink(), FakeClock(START_S)
    manager = _manager(storage, sink, clock)
    manager.restore()
    group = manager.groups[0]
    t0 = round(START_S * 1000)
    for step, value in enumerate([3, 4, 5, 0]):
        storage.append({"__name__": "errors", "job": "api"}, t0 + step * MIN, value)
        await manager.evaluate_group(group, t0 + step * MIN)
    states = [(e.state, e.changed) for e in sink.events]
    assert states == [("pending", True), ("firing", True), ("firing", False), ("resolved", True)]
    assert len({e.fingerprint for e in sink.events}) == 1
    fired = sink.events[1]
    assert fired.labels == {"alertname": "Errors", "job": "api", "severity": "page"}
    assert fired.annotations == {"summary": "api: 4"}
    assert (fired.active_at, fired.fired_at) == (t0 / 1000, (t0 + MIN) / 1000)
    assert sink.events[-1].resolved_at == (t0 + 3 * MIN) / 1000
    assert "/graph?g0.expr=errors+%3E+0" in fired.generator_url


async def test_api_shapes() -> None:
    """rules_data and alerts_data have Prometheus' keys and value formatting."""
    storage, sink, clock = MemoryStorage(), MemorySink(), FakeClock(START_S)
    manager = _manager(storage, sink, clock)
    manager.restore()
    t0 = round(START_S * 1000)
    storage.append({"__name__": "errors", "job": "api"}, t0, 2)
    await manager.evaluate_group(manager.groups[0], t0)
    data = manager.rules_data()
    (group,) = data["groups"]
    assert (group["name"], group["file"], group["interval"]) == ("g", "rules.yml", 60.0)
    alerting, recording = group["rules"]
    assert (alerting["type"], alerting["state"], alerting["duration"]) == (
        "alerting",
        "pending",
        60.0,
    )
    assert (recording["type"], recording["health"]) == ("recording", "ok")
    (alert,) = manager.alerts_data()["alerts"]
    assert alert["value"] == "2e+00"
    assert alert["activeAt"] == "2027-01-15T08:00:00Z"
    assert manager.rules_data(rule_type="record")["groups"][0]["rules"] == [recording]
    assert [a.state for a in manager.active_alerts()] == ["pending"]


async def test_restart_keeps_firing_alert_firing(tmp_path: Path) -> None:
    """A firing alert saved before a restart is firing again at once after it."""
    storage, sink, clock = MemoryStorage(), MemorySink(), FakeClock(START_S)
    first = _manager(storage, sink, clock, tmp_path)
    first.restore()
    t0 = round(START_S * 1000)
    for step in range(3):
        storage.append({"__name__": "errors", "job": "api"}, t0 + step * MIN, 1)
        await first.evaluate_group(first.groups[0], t0 + step * MIN)
    clock.t = START_S + 600
    second_sink = MemorySink()
    second = _manager(storage, second_sink, clock, tmp_path)
    assert second.restore() == 1
    assert [a.state for a in second.active_alerts()] == ["firing"]
    storage.append({"__name__": "errors", "job": "api"}, t0 + 10 * MIN, 1)
    await second.evaluate_group(second.groups[0], t0 + 10 * MIN)
    assert [(e.state, e.changed) for e in second_sink.events] == [("firing", False)]
    assert second_sink.events[0].active_at == t0 / 1000


async def test_restart_after_outage_tolerance_starts_over(tmp_path: Path) -> None:
    """State older than the outage tolerance (1h) is not restored."""
    storage, sink, clock = MemoryStorage(), MemorySink(), FakeClock(START_S)
    first = _manager(storage, sink, clock, tmp_path)
    first.restore()
    t0 = round(START_S * 1000)
    storage.append({"__name__": "errors", "job": "api"}, t0, 1)
    await first.evaluate_group(first.groups[0], t0)
    await first.evaluate_group(first.groups[0], t0 + MIN)
    clock.t = START_S + 2 * 3600
    second = _manager(storage, MemorySink(), clock, tmp_path)
    assert second.restore() == 0
    assert second.active_alerts() == []


async def test_query_error_leaves_state_and_counts_failure(
    aiohttp_server: Callable[..., Any],
) -> None:
    """In datasource mode a failing query is a failure; the alert keeps its state."""
    answers = {"ok": True}

    async def handle(request: web.Request) -> web.Response:
        assert request.query["query"] == "errors > 0"
        if not answers["ok"]:
            return web.json_response(
                {"status": "error", "errorType": "bad_data", "error": "boom"}, status=400
            )
        result = [{"metric": {"job": "api"}, "value": [float(request.query["time"]), "7"]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    app = web.Application()
    app.router.add_get("/api/v1/query", handle)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    port = server.port
    try:
        async with aiohttp.ClientSession() as session:
            query = DatasourceQuery(session, f"http://127.0.0.1:{port}")
            spec = GroupSpec(name="g", file="f", rules=(_group(0.0).rules[0],), interval_s=60)
            manager = RuleManager([spec], query=query, appender=None, sink=MemorySink())
            manager.restore()
            group = manager.groups[0]
            await manager.evaluate_group(group, 0)
            assert [a.state for a in manager.active_alerts()] == ["firing"]
            answers["ok"] = False
            await manager.evaluate_group(group, MIN)
            assert [a.state for a in manager.active_alerts()] == ["firing"]
            assert group.failures_total == 1
            rule = group.rules[0]
            assert rule.health == "err"
            assert "boom" in (rule.last_error or "")
            assert manager.group_stats()[0].failures_total == 1
    finally:
        await server.close()


async def test_reload_keeps_state_of_unchanged_rules() -> None:
    """After ``update`` with the same rules, a firing alert is still firing, not re-pending."""
    storage, sink, clock = MemoryStorage(), MemorySink(), FakeClock(START_S)
    manager = _manager(storage, sink, clock)
    manager.restore()
    t0 = round(START_S * 1000)
    for step in range(2):
        storage.append({"__name__": "errors", "job": "api"}, t0 + step * MIN, 1)
        await manager.evaluate_group(manager.groups[0], t0 + step * MIN)
    assert [a.state for a in manager.active_alerts()] == ["firing"]
    await manager.update([_group()])
    assert [a.state for a in manager.active_alerts()] == ["firing"]
    # Like Prometheus, rules match by name and labels: the next evaluation decides.
    await manager.update([_group(expr="errors > 5")])
    await manager.evaluate_group(manager.groups[0], t0 + 2 * MIN)
    assert manager.active_alerts() == []
    assert sink.events[-1].state == "resolved"


async def test_a_long_group_lets_other_tasks_run_between_its_rules() -> None:
    """Rules that each hold the event loop for a while do not hold it for the whole group.

    The query blocks (as a heavy local query does) for 15 ms per rule; a ticker task must
    get turns while the group's five rules run, and the results must be unaffected.
    """
    calls: list[int] = []

    async def slow_query(text: str, t_ms: int) -> list[Result]:
        busy_until = time.perf_counter() + 0.015
        while time.perf_counter() < busy_until:  # CPU-bound, as a local evaluation is
            pass
        calls.append(t_ms)
        return [Result({"job": "api"}, 1.0)]

    rules = tuple(RuleSpec(kind="record", name=f"r{i}", expr="up") for i in range(5))
    manager = RuleManager(
        [GroupSpec(name="g", file="f", rules=rules, interval_s=60)],
        query=slow_query,
        appender=MemoryStorage(),
        sink=MemorySink(),
    )
    ticks: list[int] = []

    async def ticker() -> None:
        while True:
            ticks.append(len(calls))
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await manager.evaluate_group(manager.groups[0], MIN)
    task.cancel()
    assert calls == [MIN] * 5
    assert {1, 2, 3, 4} & set(ticks), f"the ticker only ran at {sorted(set(ticks))}"
    assert all(r.health == "ok" for r in manager.groups[0].rules)
