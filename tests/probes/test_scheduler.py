"""When probes run: spread by name, on a drift-free grid, never twice at once, within timeouts."""

import asyncio
import math
from typing import Any

from aiohttp.test_utils import TestServer

from aiwatch.mockai import MOCK
from aiwatch.probes.exposition import render
from aiwatch.probes.scheduler import Scheduler, first_due, offset_of, shard_of
from aiwatch.probes.series import ProbeSeries
from tests.clock import FakeClock
from tests.probes.conftest import MakeConfig, mock_url, requests_by_model

START = 1_800_000_000.0


def chat(name: str, url: str, **extra: Any) -> dict[str, Any]:
    """A non-streaming chat target whose model is its name (so the mock counts it apart)."""
    return {"name": name, "kind": "openai_chat", "url": url, "model": name, **extra}


def test_offsets_are_stable_spread_and_on_phase() -> None:
    """A name always gets the same phase; phases spread over the interval; first_due is on it."""
    names = [f"target-{i}" for i in range(200)]
    offsets = [offset_of(n, 10.0) for n in names]
    assert offsets == [offset_of(n, 10.0) for n in names]
    assert all(0 <= o < 10.0 for o in offsets)
    # Spread: every second of the interval holds some of the 200 phases.
    assert {int(o) for o in offsets} == set(range(10))
    now = 1_800_000_123.4
    due = first_due(name="x", interval=30.0, now=now)
    assert now <= due < now + 30.0
    assert (
        abs((due - offset_of("x", 30.0)) / 30.0 - round((due - offset_of("x", 30.0)) / 30.0)) < 1e-9
    )


def test_shards_partition_names() -> None:
    """shard_of is stable and puts each name in exactly one of n shards, roughly evenly."""
    names = [f"t{i}" for i in range(300)]
    shards = [shard_of(n, 3) for n in names]
    assert shards == [shard_of(n, 3) for n in names]
    assert sorted(set(shards)) == [0, 1, 2]
    assert min(shards.count(i) for i in range(3)) > 60
    assert {shard_of(n, 1) for n in names} == {0}


def slots(name: str, interval: float, start: float, end: float) -> int:
    """How many slots of the target's grid fall in [start, end] (its first is ``first_due``)."""
    first = first_due(name=name, interval=interval, now=start)
    return 0 if first > end else math.floor((end - first) / interval + 1e-9) + 1


def settled(scheduler: Scheduler) -> Any:
    """An awaitable: every probe the scheduler has started has finished (in real time)."""

    async def wait() -> None:
        tasks = [e.task for e in scheduler.entries.values() if e.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    return wait


def ran(series: ProbeSeries, name: str) -> int:
    """Probes of ``name`` that finished (passed or failed)."""
    s = series.targets[name]
    return s.probes["success"] + s.probes["failure"]


async def test_no_drift_on_the_grid_and_no_lag(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """20 targets at 0.2–0.5 s for 5 s of the clock: each ran exactly the slots of its grid,
    none was skipped, each probe started when its slot was due, and the next slot is on the
    target's phase."""
    url = mock_url(mock_ai)
    targets = [
        chat(f"fast{i:02d}", url, interval=f"{(200, 300, 400, 500)[i % 4]}ms", timeout="300ms")
        for i in range(20)
    ]
    config = make_config(targets)
    series = ProbeSeries()
    clock = FakeClock(START)
    scheduler = Scheduler(series=series, record_lag=True, clock=clock)
    await scheduler.update(config.targets)
    scheduler.start()
    await clock.advance(5.0, settle=settled(scheduler))
    dues = {name: e.due for name, e in scheduler.entries.items()}
    await scheduler.stop()
    for target in config.targets:
        name, interval = target.name, target.interval
        assert ran(series, name) == slots(name, interval, START, START + 5.0), name
        assert series.targets[name].skipped == 0, name
        assert series.targets[name].probes["failure"] == 0, name
        phase = (dues[name] - offset_of(name, interval)) % interval
        assert min(phase, interval - phase) < 1e-6, (name, phase)
    assert scheduler.lags is not None
    assert len(scheduler.lags) == sum(ran(series, t.name) for t in config.targets)
    assert max(abs(lag) for lag in scheduler.lags) < 1e-6


async def test_no_probe_runs_past_its_timeout(mock_ai: TestServer, make_config: MakeConfig) -> None:
    """Endpoints that answer only after 2 s: every probe the scheduler ran ended at its 0.3 s
    timeout, as a timeout error."""
    url = mock_url(mock_ai)
    targets = [
        chat(f"slow{i:02d}", url, interval=f"{(400, 500)[i % 2]}ms", timeout="300ms")
        for i in range(4)
    ]
    for t in targets:
        mock_ai.app[MOCK].models[t["model"]] = {"latency": 2.0}
    config = make_config(targets)
    series = ProbeSeries()
    clock = FakeClock(START)
    scheduler = Scheduler(series=series, clock=clock)
    await scheduler.update(config.targets)
    scheduler.start()
    await clock.advance(1.0, settle=settled(scheduler))
    await scheduler.stop()
    for target in config.targets:
        count = ran(series, target.name)
        assert count == slots(target.name, target.interval, START, START + 1.0) >= 2
        histogram = series.targets[target.name].histograms[0]
        assert histogram is not None
        # Every probe ended within le="0.64" (the endpoint answers after 2 s, the scheduler's
        # own guard is at 0.55 s), and on average within 0.3 s + 50 ms.
        assert sum(histogram.counts[:7]) == histogram.count == count, histogram.counts
        assert series.targets[target.name].errors == {"timeout": count}
        assert histogram.sum / histogram.count < 0.35


async def test_a_probe_still_running_is_not_started_twice(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """Interval 0.2 s, answer after 1 s: the four slots due meanwhile are skipped and counted,
    the endpoint sees one request at a time, and the next slot after the answer runs."""
    mock_ai.app[MOCK].models["busy"] = {"latency": 1.0}
    config = make_config([chat("busy", mock_url(mock_ai), interval="200ms", timeout="2s")])
    series = ProbeSeries()
    clock = FakeClock(START)
    scheduler = Scheduler(series=series, clock=clock)
    await scheduler.update(config.targets)
    scheduler.start()
    await clock.advance(0.2)  # the first slot: the probe is in flight
    assert scheduler.entries["busy"].running
    await clock.advance(0.8)  # four more slots while it is
    in_flight = mock_ai.app[MOCK].in_flight
    skipped_meanwhile = series.targets["busy"].skipped
    await settled(scheduler)()
    await clock.advance(0.4, settle=settled(scheduler))  # two slots, each after the last
    text = render(series).decode()
    await scheduler.stop()
    assert skipped_meanwhile == 4
    assert in_flight == 1
    assert ran(series, "busy") == 3
    assert series.targets["busy"].skipped == 4
    assert requests_by_model(mock_ai)["busy"] == 3
    assert "aiwatch_probes_skipped_total{" in text


async def test_reload_adds_changes_and_removes_without_touching_the_rest(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """Unchanged targets keep their schedule and counters; removed ones vanish from /metrics."""
    url = mock_url(mock_ai)
    first = make_config(
        [
            chat("keep", url, interval="100ms"),
            chat("change", url, interval="100ms"),
            chat("drop", url, interval="100ms"),
        ]
    )
    series = ProbeSeries()
    clock = FakeClock(START)
    scheduler = Scheduler(series=series, clock=clock)
    await scheduler.update(first.targets)
    scheduler.start()
    await clock.advance(0.5, settle=settled(scheduler))
    keep_entry, keep_series = scheduler.entries["keep"], series.targets["keep"]
    before = keep_series.probes["success"]
    assert before >= 2
    assert series.targets["drop"].probes["success"] >= 2
    second = make_config(
        [
            chat("keep", url, interval="100ms"),
            chat("change", url, interval="100ms", labels={"team": "vision"}),
            chat("added", url, interval="100ms"),
        ],
        name="second.yml",
    )
    await scheduler.update(second.targets)
    await clock.advance(0.5, settle=settled(scheduler))
    text = render(series).decode()
    await scheduler.stop()
    assert scheduler.entries == {}
    assert keep_entry.runs > before
    assert series.targets["keep"] is keep_series
    assert keep_series.probes["success"] > before
    assert 'target="drop"' not in text
    assert "drop" not in series.targets
    assert 'target="change",kind="openai_chat",feature="",model="change",team="vision"' in text
    assert series.targets["added"].probes["success"] >= 2


async def test_slots_lost_to_a_blocked_loop_count_as_skipped(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """When aiwatch itself stalls past several slots, it resumes on the grid (no burst of
    catch-up probes) and counts the slots passed over as skipped."""
    config = make_config([chat("steady", mock_url(mock_ai), interval="100ms")])
    series = ProbeSeries()
    clock = FakeClock(START)
    scheduler = Scheduler(series=series, clock=clock)
    await scheduler.update(config.targets)
    scheduler.start()
    await clock.advance(0.35, settle=settled(scheduler))
    before = ran(series, "steady")
    await clock.jump(0.55)  # the loop was blocked: every slot of 0.55 s is due at once
    await settled(scheduler)()
    after_jump, skipped = ran(series, "steady"), series.targets["steady"].skipped
    await clock.advance(0.35, settle=settled(scheduler))
    total = ran(series, "steady") + series.targets["steady"].skipped
    await scheduler.stop()
    assert after_jump == before + 1  # one probe for the stalled slots, not a burst
    assert skipped >= 4
    assert total == slots("steady", 0.1, START, START + 1.25)
    assert requests_by_model(mock_ai)["steady"] == ran(series, "steady")


async def test_a_finished_probe_leaves_its_result_and_no_task_behind(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """Between two probes a target keeps its last result but not the finished task (its
    coroutine and context), which thousands of targets would keep for a whole interval."""
    config = make_config([chat("one", mock_url(mock_ai), interval="1s", timeout="500ms")])
    series = ProbeSeries()
    clock = FakeClock(START)
    scheduler = Scheduler(series=series, clock=clock)
    await scheduler.update(config.targets)
    scheduler.start()
    entry = scheduler.entries["one"]
    for _ in range(20):
        if entry.last is not None:
            break
        await clock.advance(0.1, settle=settled(scheduler))
    await asyncio.sleep(0)
    assert entry.last is not None
    assert entry.last.success, entry.last.error
    assert entry.task is None
    assert not entry.running
    await scheduler.stop()
    assert ran(series, "one") == 1
