"""Pausing the cyclic garbage collector around queries, across forks; freezing what lives;
collecting on the event loop's schedule."""

import asyncio
import contextlib
import gc
import os
import signal
import threading
import time
import weakref
from collections.abc import Awaitable, Callable

from aiwatch.gcpause import _State, collect_on_schedule, collections_paused, freeze_long_lived


def test_pause_nests_and_restores_an_enabled_collector() -> None:
    """The collector is off inside (also nested) and back on after the outermost exit."""
    assert gc.isenabled()
    with collections_paused():
        assert not gc.isenabled()
        with collections_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_leaves_a_disabled_collector_off() -> None:
    """A program that turned the collector off keeps it off."""
    gc.disable()
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pause_is_released_after_an_exception_and_across_threads() -> None:
    """An error in the body, and bodies overlapping in threads, still end with it on."""
    started, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with collections_paused():
            started.wait()
            release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    started.wait()
    try:
        with collections_paused():
            raise RuntimeError
    except RuntimeError:
        pass
    assert not gc.isenabled()  # the threads still hold it
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


class _Node:
    """An object that can be in a reference cycle and be watched with a weak reference."""

    def __init__(self) -> None:
        self.other: object = None


def test_freezing_keeps_what_lives_now_out_of_collections_but_refcounting_frees() -> None:
    """After ``freeze_long_lived`` a cycle alive at that moment is not collected (the
    collector no longer scans it) while an acyclic frozen object is still freed when its
    last reference goes; unfrozen, the cycle is collected again."""
    cycle, single = _Node(), _Node()
    cycle.other = cycle
    watch_cycle, watch_single = weakref.ref(cycle), weakref.ref(single)
    try:
        assert freeze_long_lived() == gc.get_freeze_count() > 0
        del cycle, single
        assert watch_single() is None
        gc.collect()
        assert watch_cycle() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert watch_cycle() is None


def test_a_forked_child_pauses_even_if_another_thread_held_the_pause_lock() -> None:
    """A thread holds the pause's lock while the process forks: the child (which has only
    the forking thread) can still pause the collector and exits 0 instead of hanging."""
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with _State.lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                with collections_paused():
                    code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 5
        done, status = 0, 0
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
            done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # the child hangs on the lock: kill it, then fail
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        assert done == pid
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        thread.join(10)


def _run_schedule(
    body: Callable[[], Awaitable[None]], *, middle_every: int, full_period_s: float
) -> list[int]:
    """Run ``collect_on_schedule`` while ``body`` runs; the generations collected meanwhile."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and threading.current_thread() is threading.main_thread():
            seen.append(info["generation"])

    async def main() -> None:
        task = asyncio.create_task(
            collect_on_schedule(
                young_period_s=0.01, middle_every=middle_every, full_period_s=full_period_s
            )
        )
        await asyncio.sleep(0)
        gc.callbacks.append(record)
        try:
            await body()
        finally:
            gc.callbacks.remove(record)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())
    return seen


def test_the_schedule_collects_by_the_clock_with_automatic_collection_off() -> None:
    """While scheduled, automatic collection is off and the loop collects generation 0 every
    tick and generation 1 every ``middle_every`` ticks (a cycle made meanwhile is freed);
    cancelled, automatic collection is back on."""
    cycle = _Node()
    cycle.other = cycle
    watch = weakref.ref(cycle)
    del cycle

    async def body() -> None:
        assert not gc.isenabled()
        await asyncio.sleep(0.6)

    seen = _run_schedule(body, middle_every=4, full_period_s=60)
    assert gc.isenabled()
    assert watch() is None
    assert seen.count(0) >= 6
    assert seen.count(1) >= 2
    assert seen.count(0) >= 2 * seen.count(1)
    assert 2 not in seen


def test_the_schedule_runs_a_full_collection_on_its_period() -> None:
    """A cycle promoted to the oldest generation is freed by the periodic full collection."""
    cycle = _Node()
    cycle.other = cycle
    watch = weakref.ref(cycle)
    gc.collect(1)
    gc.collect(1)  # now in generation 2, out of reach of young and middle collections
    del cycle

    async def body() -> None:
        await asyncio.sleep(0.5)

    seen = _run_schedule(body, middle_every=4, full_period_s=0.2)
    assert watch() is None
    assert 2 in seen


def test_the_schedule_waits_while_collections_are_paused() -> None:
    """Inside ``collections_paused`` (a query in a worker thread) no tick collects, and when
    the pause ends automatic collection stays off because the schedule still runs."""
    paused_collections: list[int] = []

    async def body() -> None:
        with collections_paused():
            before = len(seen_so_far)
            await asyncio.sleep(0.1)
            paused_collections.append(len(seen_so_far) - before)
        assert not gc.isenabled()
        await asyncio.sleep(0.3)

    seen_so_far: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            seen_so_far.append(info["generation"])

    gc.callbacks.append(record)
    try:
        seen = _run_schedule(body, middle_every=4, full_period_s=60)
    finally:
        gc.callbacks.remove(record)
    assert paused_collections == [0]
    assert len(seen) >= 5
    assert gc.isenabled()
