"""Queries give way to the event loop: a worker thread pauses while the loop is late.

A query thread shares CPython's interpreter lock with the event loop. When both want it
they take turns, so a long query (a ``histogram_quantile`` over tens of thousands of
series) would make every task of the loop run at half speed for as long as it computes.
While queries run, the loop stamps a ``Heartbeat`` every ``BEAT_S`` seconds; the evaluator's
per-series loops call ``give_way`` every ``EVERY`` series, which, when the stamp is late
(the loop has work, or waits for the lock), sleeps until the loop has caught up — leaving
it the lock — for at most ``MAX_PAUSE_S`` and at most ``RATIO`` times as long as the thread
worked since its last pause, so that a query gets at least a third of the time it would
have had even when the loop is late for other reasons (a machine with no core to spare).
When the loop is idle the stamp is on time and a query runs at full speed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

BEAT_S = 0.005
"""How often the loop stamps the heartbeat while queries run."""

LATE_S = 0.010
"""A stamp older than this means the loop is busy."""

PAUSE_S = 0.001
"""One pause of a query thread while the loop is busy."""

MAX_PAUSE_S = 0.020
"""The longest a query thread waits for the loop at one ``give_way``."""

RATIO = 2.0
"""A pause lasts at most this many times the work done since the previous one."""

EVERY = 64
"""Series a per-series loop handles between two calls of ``give_way`` (about 1 ms)."""


class Heartbeat:
    """The time the event loop last had a moment for its own callbacks."""

    __slots__ = ("beat",)

    def __init__(self) -> None:
        self.beat = time.monotonic()

    def stamp(self) -> None:
        """Called by the loop every ``BEAT_S``."""
        self.beat = time.monotonic()


_local = threading.local()


@contextlib.contextmanager
def serving(heart: Heartbeat) -> Iterator[None]:
    """Make ``give_way`` in this thread follow ``heart`` (a query thread of one loop)."""
    _local.heart = heart
    _local.resumed = time.monotonic()
    try:
        yield
    finally:
        _local.heart = None


def current() -> Heartbeat | None:
    """The heartbeat this thread follows (None outside a query thread)."""
    heart: Heartbeat | None = getattr(_local, "heart", None)
    return heart


def give_way() -> None:
    """Pause this thread while the loop it serves is late (no-op outside a query thread)."""
    heart = current()
    if heart is None:
        return
    now = time.monotonic()
    worked = now - getattr(_local, "resumed", now)
    if now - heart.beat <= LATE_S:
        return
    until = now + min(MAX_PAUSE_S, RATIO * worked)
    while now < until:
        time.sleep(PAUSE_S)
        now = time.monotonic()
        if now - heart.beat <= LATE_S:
            break
    _local.resumed = now
