"""When Python's cyclic collector runs: paused around bursts, on a schedule after start-up."""

import asyncio
import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class _State:
    lock = threading.Lock()
    depth = 0
    resume = False
    scheduled = False
    """Whether ``collect_on_schedule`` runs: automatic collection stays off after a pause."""


def _after_fork_in_child() -> None:
    # Only the forking thread lives on in a child: a lock another thread held stays held.
    _State.lock = threading.Lock()
    _State.depth = 0
    _State.scheduled = False


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
            if _State.depth == 0 and _State.resume and not _State.scheduled:
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


YOUNG_PERIOD_S = 0.1
"""Seconds between two young (generation 0) collections once start-up is over."""
MIDDLE_EVERY = 5
"""Young collections per middle (generation 1) collection: two a second."""
FULL_PERIOD_S = 600.0
"""Seconds between two full collections (everything not frozen)."""


def collect_tick(tick: int, *, middle_every: int = MIDDLE_EVERY) -> int | None:
    """Tick ``tick`` of the schedule: collect generation 0, or 1 every ``middle_every``
    ticks; the generation collected, or None while ``collections_paused`` holds it off."""
    if _State.depth:
        return None
    generation = 1 if tick % middle_every == middle_every - 1 else 0
    gc.collect(generation)
    return generation


async def collect_on_schedule(
    *,
    young_period_s: float = YOUNG_PERIOD_S,
    middle_every: int = MIDDLE_EVERY,
    full_period_s: float = FULL_PERIOD_S,
) -> None:
    """Forever: automatic collection off, collections on the event loop at a fixed pace.

    CPython starts a young collection when allocations outnumber frees by its threshold,
    but it counts the free of *any* object, old ones included. In a daemon where thousands of
    targets replace what their previous probe left at the rate they make new objects, the
    count hardly moves while the young generation grows to 100,000–200,000 objects, and a
    collection then stalls the loop for 100–300 ms; the middle generation, collected after 50
    of those, held 250,000 objects (about 0.3 s). Collected by the clock instead, the young
    generation holds only what was made in the last ``young_period_s`` and is still alive,
    and the middle one what survived the last half second: a few milliseconds each. A full
    collection walks everything promoted since ``freeze_long_lived``; it runs every
    ``full_period_s`` so that garbage in reference cycles among older objects is still freed.
    Ticks are skipped while ``collections_paused`` holds (a query in a worker thread).
    Cancelled, it gives collection back to CPython's thresholds.
    """
    with _State.lock:
        resume = gc.isenabled() if not _State.depth else _State.resume
        _State.scheduled, _State.resume = True, False
        gc.disable()
    next_full = time.monotonic() + full_period_s
    tick = 0
    try:
        while True:
            await asyncio.sleep(young_period_s)
            if time.monotonic() >= next_full and not _State.depth:
                next_full = time.monotonic() + full_period_s
                gc.collect()
                continue
            collect_tick(tick, middle_every=middle_every)
            tick += 1
    finally:
        with _State.lock:
            _State.scheduled = False
            if _State.depth:
                _State.resume = resume
            elif resume:
                gc.enable()
