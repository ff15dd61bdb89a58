"""The /metrics text of probes: the per-target scrape cache always equals a fresh render."""

import asyncio
import contextlib

from aiwatch.probes.exposition import ScrapeCache, render
from aiwatch.probes.series import ProbeSeries
from tests.probes.test_series import result, target


def test_cache_follows_updates_additions_and_removals() -> None:
    """After every kind of change the cached page is byte-for-byte the fresh render."""
    store = ProbeSeries()
    cache = ScrapeCache(store)
    for name in ("a", "b", "c"):
        store.ensure(target(name))
    assert cache.render() == render(store)
    store.observe(result(target="a", duration=0.3))
    assert cache.stale() == [store.targets["a"]]
    assert cache.render() == render(store)
    store.targets["b"].skip()
    store.remove("c")
    store.ensure(target("d", labels={"team": "x"}))
    store.ensure(target("a", labels={"team": "y"}))  # new labels: a new series object
    page = cache.render()
    assert page == render(store)
    assert b'target="c"' not in page
    assert b'target="a",kind="openai_chat",feature="",model="gpt-4o-mini",team="y"' in page
    assert cache.stale() == []


async def test_refresh_renders_changed_targets_in_the_background() -> None:
    """The refresher re-renders changed targets between scrapes, so a scrape finds none stale."""
    store = ProbeSeries()
    cache = ScrapeCache(store)
    for i in range(250):
        store.ensure(target(f"t{i}"))
    task = asyncio.get_running_loop().create_task(cache.refresh(period=0.01, batch=50))
    try:
        for _ in range(100):
            if not cache.stale():
                break
            await asyncio.sleep(0.01)
        assert cache.stale() == []
        store.observe(result(target="t7"))
        assert len(cache.stale()) == 1
        for _ in range(100):
            if not cache.stale():
                break
            await asyncio.sleep(0.01)
        assert cache.stale() == []
        assert cache.render() == render(store)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_refresh_batch_ends_once_its_time_is_spent() -> None:
    """With no time to spend a batch renders one target, and other tasks run between
    batches: they see the stale count fall one by one, not from 30 to 0 at once."""
    store = ProbeSeries()
    cache = ScrapeCache(store)
    for i in range(30):
        store.ensure(target(f"t{i}"))
    seen: list[int] = []
    task = asyncio.get_running_loop().create_task(
        cache.refresh(period=0.001, batch=100, budget_s=0)
    )
    try:
        for _ in range(1000):
            seen.append(len(cache.stale()))
            if not seen[-1]:
                break
            await asyncio.sleep(0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert seen[-1] == 0
    assert len(set(seen)) >= 25
