"""When probes run: spread by name, on a drift-free grid, never twice at once, within timeouts."""

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestServer

from aiwatch.mockai import MOCK
from aiwatch.probes.exposition import render
from aiwatch.probes.scheduler import Scheduler, first_due, offset_of, shard_of
from aiwatch.probes.series import ProbeSeries
from tests.probes.conftest import MakeConfig, mock_url, requests_by_model


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


def slots(interval: float, elapsed: float) -> float:
    """How many probes a target should have run in ``elapsed`` seconds."""
    return elapsed / interval


async def test_no_drift_and_no_probe_past_its_timeout(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """20 targets at 0.2–0.5 s for ~5 s: each ran its expected count ±1, on its phase,
    and every probe (some endpoints answer only after 2 s) ended at its 0.3 s timeout."""
    url = mock_url(mock_ai)
    targets = []
    for i in range(20):
        interval = (0.2, 0.3, 0.4, 0.5)[i % 4]
        slow = i % 4 >= 2 and i % 3 == 0  # 0.4 s and 0.5 s targets only: no overlap
        name = f"slow{i:02d}" if slow else f"fast{i:02d}"
        targets.append(chat(name, url, interval=f"{int(interval * 1000)}ms", timeout="300ms"))
    for t in targets:
        if t["name"].startswith("slow"):
            mock_ai.app[MOCK].models[t["model"]] = {"latency": 2.0}
    config = make_config(targets)
    series = ProbeSeries()
    scheduler = Scheduler(series=series, record_lag=True)
    await scheduler.update(config.targets)
    started = time.monotonic()
    scheduler.start()
    await asyncio.sleep(5.0)
    elapsed = time.monotonic() - started
    # Probes fired so far: completed ones, skipped ones, and one possibly still running.
    counts = {
        name: (
            s.probes["success"] + s.probes["failure"],
            s.skipped,
            int(scheduler.entries[name].running),
        )
        for name, s in series.targets.items()
    }
    lasts = {name: e.last for name, e in scheduler.entries.items()}
    await scheduler.stop()
    assert any(n.startswith("slow") for n in counts)
    for target in config.targets:
        ran, skipped, running = counts[target.name]
        # A slot due in the last few ms before the count may not have started yet: the
        # lower bound leaves it 50 ms (the lag bound below allows up to 100 ms at p99).
        low, high = slots(target.interval, elapsed - 0.05), slots(target.interval, elapsed)
        assert low - 1 <= ran + running <= high + 1, (target.name, ran, running, elapsed)
        assert skipped == 0, target.name
        last = lasts[target.name]
        assert last is not None
        # No drift: the last probe started on the target's phase of the wall-clock grid.
        phase = (last.started_at - offset_of(target.name, target.interval)) % target.interval
        assert min(phase, target.interval - phase) < 0.05, (target.name, phase)
        histogram = series.targets[target.name].histograms[0]
        assert histogram is not None
        # Every probe ended within le="0.64" (the endpoint answers after 2 s, the scheduler's
        # own guard is at 0.55 s), and the timed-out ones on average within 0.3 s + 50 ms.
        assert sum(histogram.counts[:7]) == histogram.count, (target.name, histogram.counts)
        if target.name.startswith("slow"):
            assert series.targets[target.name].errors == {"timeout": ran}
            assert histogram.sum / histogram.count < 0.35
        else:
            assert series.targets[target.name].probes["failure"] == 0
    assert scheduler.lags is not None
    lags = sorted(scheduler.lags)
    assert lags[int(len(lags) * 0.99)] < 0.1, lags[-10:]


async def test_a_probe_still_running_is_not_started_twice(
    mock_ai: TestServer, make_config: MakeConfig
) -> None:
    """Interval 0.2 s, answer after 0.45 s: due slots meanwhile are skipped and counted."""
    mock_ai.app[MOCK].models["busy"] = {"latency": 0.45}
    config = make_config([chat("busy", mock_url(mock_ai), interval="200ms", timeout="1s")])
    series = ProbeSeries()
    scheduler = Scheduler(series=series)
    await scheduler.update(config.targets)
    started = time.monotonic()
    scheduler.start()
    await asyncio.sleep(2.1)
    elapsed = time.monotonic() - started
    s = series.targets["busy"]
    ran, skipped = s.probes["success"] + s.probes["failure"], s.skipped
    in_flight = mock_ai.app[MOCK].in_flight
    await scheduler.stop()
    assert skipped >= 4
    assert ran >= 3
    assert abs(ran + skipped - slots(0.2, elapsed)) <= 2
    # Each started probe reached the endpoint exactly once, one at a time.
    assert requests_by_model(mock_ai)["busy"] in (ran, ran + 1)
    assert in_flight <= 1
    assert "aiwatch_probes_skipped_total{" in render(series).decode()


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
    scheduler = Scheduler(series=series)
    await scheduler.update(first.targets)
    scheduler.start()
    await asyncio.sleep(0.5)
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
    await asyncio.sleep(0.5)
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
    scheduler = Scheduler(series=series)
    await scheduler.update(config.targets)
    started = time.monotonic()
    scheduler.start()
    await asyncio.sleep(0.35)
    time.sleep(0.55)  # noqa: ASYNC251 -- deliberately block the loop, as under overload
    await asyncio.sleep(0.35)
    elapsed = time.monotonic() - started
    s = series.targets["steady"]
    ran, skipped = s.probes["success"] + s.probes["failure"], s.skipped
    await scheduler.stop()
    assert skipped >= 4
    assert abs(ran + skipped - slots(0.1, elapsed)) <= 2
    assert requests_by_model(mock_ai)["steady"] <= ran + 1
