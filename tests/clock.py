"""A hand-written fake of ``aiwatch.clock.MonotonicClock`` for schedules tested without waiting."""

import asyncio
from collections.abc import Awaitable, Callable


async def _turns(count: int = 50) -> None:
    """Let the event loop run ``count`` rounds: woken tasks reach their next wait."""
    for _ in range(count):
        await asyncio.sleep(0)


class FakeClock:
    """A clock that only moves when the test says so; sleepers wake in deadline order.

    ``now()`` and ``monotonic()`` read the same fake time. A sleeper whose task was cancelled
    is forgotten when its turn comes.
    """

    def __init__(self, start: float) -> None:
        self.t = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, future))
        await future

    def sleeping(self) -> int:
        """How many sleepers are waiting for the clock."""
        return sum(not future.done() for _, future in self._sleepers)

    async def advance(
        self, seconds: float, *, settle: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Move time forward by ``seconds``, waking each sleeper at its deadline in turn.

        After each wake-up the loop gets a few rounds, then ``settle()`` (if given) is awaited:
        work that a wake-up started in real time (a probe over loopback) ends before the
        clock moves on.
        """
        target = self.t + seconds
        await _turns()
        while True:
            due = sorted((d, i) for i, (d, _) in enumerate(self._sleepers) if d <= target)
            if not due:
                break
            deadline, index = due[0]
            _, future = self._sleepers.pop(index)
            self.t = max(self.t, deadline)
            if not future.done():  # a sleeper cancelled meanwhile (a stopped group)
                future.set_result(None)
            await _turns()
            if settle is not None:
                await settle()
        self.t = target

    async def jump(self, seconds: float) -> None:
        """Move time forward by ``seconds`` at once, as after a blocked event loop: every
        sleeper due by then wakes only now, together."""
        self.t += seconds
        await self.advance(0)
