"""The self-scrape stores exactly what a Prometheus scraping /metrics would store."""

import asyncio
import math
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram

from aiwatch.persistence import run_for
from aiwatch.promql.storage import LabelMatcher, MemoryStorage, is_stale
from aiwatch.selfscrape import (
    Sample,
    SelfScraper,
    registry_samples,
    run_in_slices,
    scrape_in_turn,
)


def names(storage: MemoryStorage) -> set[str]:
    return {
        dict(key)["__name__"]
        for key, _, _ in storage.select([LabelMatcher("__name__", "=~", ".+")], 0, 10**12)
    }


def test_registry_samples_match_the_text_format() -> None:
    """Counters keep ``_total``; histograms give buckets, sum and count; no ``_created``."""
    registry = CollectorRegistry()
    Counter("demo_requests", "help", registry=registry).inc(3)
    Histogram("demo_seconds", "help", buckets=(1.0,), registry=registry).observe(0.5)
    samples = {(name, labels): value for name, labels, value in registry_samples(registry)}
    assert samples[("demo_requests_total", ())] == 3.0
    assert samples[("demo_seconds_bucket", (("le", "1.0"),))] == 1.0
    assert samples[("demo_seconds_bucket", (("le", "+Inf"),))] == 1.0
    assert samples[("demo_seconds_count", ())] == 1.0
    assert samples[("demo_seconds_sum", ())] == 0.5
    assert not any(name.endswith("_created") for name, _ in samples)


def test_scrape_adds_target_labels_up_and_stale_markers() -> None:
    """Each sample gets job/instance; ``up`` is 1; a vanished series gets one stale marker."""
    storage = MemoryStorage()
    current: list[Sample] = [("a_total", (("x", "1"),), 1.0), ("b", (), 2.0)]
    scraper = SelfScraper(
        storage, lambda: [current], instance="127.0.0.1:9531", retention_ms=60_000
    )
    assert scraper.scrape(1_000) == 3
    ((key, times, values),) = storage.select([LabelMatcher("__name__", "=", "a_total")], 0, 10**6)
    assert dict(key) == {
        "__name__": "a_total",
        "x": "1",
        "job": "aiwatch",
        "instance": "127.0.0.1:9531",
    }
    assert (list(times), list(values)) == ([1_000], [1.0])
    current.pop()
    scraper.scrape(2_000)
    scraper.scrape(3_000)
    ((_, times, values),) = storage.select([LabelMatcher("__name__", "=", "b")], 0, 10**6)
    assert list(times) == [1_000, 2_000]
    assert values[0] == 2.0
    assert is_stale(values[1])
    assert names(storage) == {"a_total", "b", "up"}


def test_retention_bounds_memory() -> None:
    """Samples older than the retention are dropped at each scrape."""
    storage = MemoryStorage()
    scraper = SelfScraper(
        storage, lambda: [[("g", (), math.pi)]], instance="i", retention_ms=10_000
    )
    for t in range(0, 100_000, 1_000):
        scraper.scrape(t)
    assert storage.sample_count() == 2 * 11


async def test_sliced_scrape_lets_other_tasks_run_and_stores_the_same() -> None:
    """A scrape in slices stores what a scrape in one go does, and the loop runs in between.

    Meanwhile another task appends to a series that retention is about to empty: it must
    survive, since it has a new sample.
    """
    sources: list[list[Sample]] = [
        [("t_total", (("target", str(i)),), float(i))] for i in range(50)
    ]
    whole, sliced = MemoryStorage(), MemoryStorage()
    for storage in (whole, sliced):
        storage.append({"__name__": "kept"}, 0, 1.0)
    one_go = SelfScraper(whole, lambda: sources, instance="i", retention_ms=5_000)
    in_slices = SelfScraper(sliced, lambda: sources, instance="i", retention_ms=5_000)
    ticks, revived_at = 0, 0

    async def other_task() -> None:
        nonlocal ticks, revived_at
        while True:
            ticks += 1
            if in_slices.previous and not revived_at:
                # Retention is being applied: "kept" (the first series) was just emptied.
                revived_at = ticks
                sliced.append({"__name__": "kept"}, 10_000, 2.0)
                whole.append({"__name__": "kept"}, 10_000, 2.0)
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    # A zero budget: every step is a slice of its own.
    await run_in_slices(in_slices.scrape_steps(10_000, pause_every=7), budget_s=0)
    task.cancel()
    one_go.scrape(10_000)
    assert revived_at > 50 // 7
    everything = [LabelMatcher("__name__", "=~", ".+")]
    assert [(k, list(t), list(v)) for k, t, v in sliced.select(everything, 0, 10**6)] == [
        (k, list(t), list(v)) for k, t, v in whole.select(everything, 0, 10**6)
    ]
    assert names(sliced) == {"kept", "t_total", "up"}


def test_a_slice_runs_steps_until_its_time_is_up() -> None:
    """``run_for`` runs steps until one ends past its budget and stops right there, says when
    the generator is done, and with a zero budget runs exactly one step."""
    ended: list[float] = []

    def steps(n: int, each_s: float) -> Iterator[None]:
        for _ in range(n):
            time.sleep(each_s)
            ended.append(time.perf_counter())
            yield

    work = steps(1000, 0.002)
    started = time.perf_counter()
    assert not run_for(work, 0.02)
    assert len(ended) >= 2
    # The step before the last ended within the budget (the clock is read a moment after
    # ``started``), the last one past it.
    assert ended[-2] - started < 0.021
    assert ended[-1] - started >= 0.02
    before = len(ended)
    assert not run_for(work, 0)
    assert len(ended) == before + 1
    assert run_for(steps(3, 0), 1.0)


async def test_overlapping_scrapes_take_turns() -> None:
    """Two scrapes asked for at once (the start-up announcement's and the scrape loop's) run
    one after the other, each storing every series, at increasing times. Run in interleaved
    slices, a later scrape that got ahead would make the earlier one's samples out of order:
    the task running it would end with an error, and with it the self-scrape or the start of
    the rules."""
    consumed: list[tuple[int, int]] = []
    scrapes = 0

    def slow(scrape: int, part: int) -> Iterator[Sample]:
        time.sleep(0.02)  # each part outlasts a slice's budget: the scrape pauses after it
        consumed.append((scrape, part))
        for i in range(100):
            yield ("t_total", (("target", f"{part}-{i}"),), float(i))

    def sources() -> list[Iterator[Sample]]:
        nonlocal scrapes
        scrapes += 1
        return [slow(scrapes, part) for part in range(3)]

    storage = MemoryStorage()
    scraper = SelfScraper(storage, sources, instance="i", retention_ms=10**9)
    turn = asyncio.Lock()
    await asyncio.gather(scrape_in_turn(scraper, turn), scrape_in_turn(scraper, turn))
    assert consumed == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    selected = storage.select([LabelMatcher("__name__", "=", "t_total")], 0, 10**15)
    assert len(selected) == 300
    assert all(len(times) == 2 and times[0] < times[1] for _, times, _ in selected)
