"""Pausing the cyclic garbage collector around queries, across forks; freezing what lives."""

import gc
import os
import signal
import threading
import time
import weakref

from aiwatch.gcpause import _State, collections_paused, freeze_long_lived


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
