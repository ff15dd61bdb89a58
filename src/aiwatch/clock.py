"""Time, injected: what reads the time or waits takes a clock, and tests pass a fake one."""

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time and sleeping; tests pass a hand-written fake."""

    def now(self) -> float:
        """Unix time in seconds."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class MonotonicClock(Clock, Protocol):
    """A :class:`Clock` that also reads a time that never jumps (for fixed-rate schedules)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; steps of the wall clock do not move it."""


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()`` (the event loop's own time)."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)
