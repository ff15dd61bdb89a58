"""Holding off Python's cyclic garbage collector during a burst of short-lived allocations."""

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _State:
    lock = threading.Lock()
    depth = 0
    resume = False


def _after_fork_in_child() -> None:
    # Only the forking thread lives on in a child: a lock another thread held stays held.
    _State.lock = threading.Lock()
    _State.depth = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def collections_paused() -> Iterator[None]:
    """Run the body without automatic cyclic collections; reference counting still frees.

    A PromQL query over a large store allocates hundreds of thousands of containers that
    live only until the next step. Those alive when a young collection runs are promoted,
    and CPython counts every promotion towards its next full collection even if the object
    dies a moment later, so a few heavy queries set off full collections (about 0.1 s each
    over a big store) several times a rule cycle. Paused, short-lived objects are freed as
    usual and only what survives the body meets the collector afterwards. Calls nest (also
    across threads); the collector stays off if it was off before.
    """
    with _State.lock:
        if _State.depth == 0:
            _State.resume = gc.isenabled()
            gc.disable()
        _State.depth += 1
    try:
        yield
    finally:
        with _State.lock:
            _State.depth -= 1
            if _State.depth == 0 and _State.resume:
                gc.enable()


def freeze_long_lived() -> int:
    """Keep every object alive now out of the cyclic collector's scans; how many there were.

    Called once, when the daemon has started (store restored, every target probed once): the
    configuration, the targets, the store's series and their label pairs then live until
    exit, and every full collection would walk them all again (hundreds of milliseconds on the
    event loop at thousands of targets). Reference counting still frees a frozen object; only
    a reference cycle among objects alive at this moment would never be collected, once. A
    forked child also shares these objects' pages, as the collector no longer writes to them.
    """
    gc.freeze()
    return gc.get_freeze_count()
