"""Pausing the cyclic garbage collector around queries: nesting and restoring its state."""

import gc
import threading

from aiwatch.gcpause import collections_paused


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
