"""One rule group's task: evaluations on its aligned slots, stopped only between evaluations.

An evaluation hands its alert events to the sink; cancelling it half-way would lose them
(the alert is already resolved in memory, so its ``resolved`` event would never be sent
again). A runner therefore stops like a Prometheus group: a stop while it sleeps cancels the
sleep, a stop while it evaluates waits for that evaluation to finish.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiwatch.clock import Clock
from aiwatch.rules.group import Group

log = logging.getLogger(__name__)


Evaluate = Callable[[Group, int], Awaitable[object]]


class GroupRunner:
    """Runs ``evaluate(group, t_ms)`` on the group's slots until ``stop``."""

    def __init__(self, group: Group, evaluate: Evaluate, clock: Clock) -> None:
        self.group = group
        self._evaluate = evaluate
        self._clock = clock
        self._stopping = False
        self._evaluating = False
        self.first_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done once the first evaluation ended (or the runner stopped before it)."""
        self.task = asyncio.create_task(self._run(), name=f"rules:{group.key}")

    async def _run(self) -> None:
        try:
            await self._loop()
        finally:
            if not self.first_done.done():
                self.first_done.set_result(None)

    async def _loop(self) -> None:
        clock, group = self._clock, self.group
        interval = group.interval_ms
        next_ms = group.eval_timestamp(round(clock.now() * 1000)) + interval
        while not self._stopping:
            await clock.sleep(max(0.0, next_ms / 1000 - clock.now()))
            if self._stopping:
                return
            # No await between the check above and this flag: a stop sees either a sleeping
            # runner (and cancels it) or an evaluating one (and waits for it).
            self._evaluating = True
            try:
                await self._evaluate(group, next_ms)
            except Exception:
                log.exception("evaluating rule group %s failed", group.name)
            finally:
                self._evaluating = False
            if not self.first_done.done():
                self.first_done.set_result(None)
            now_ms = round(clock.now() * 1000)
            next_ms += interval
            if now_ms >= next_ms + interval:
                # Missed slots are skipped, as Prometheus does, keeping the alignment.
                next_ms += (now_ms - next_ms) // interval * interval

    async def stop(self) -> None:
        """Stop between evaluations: cancel a sleep, or let a running evaluation finish."""
        self._stopping = True
        if not self._evaluating:
            self.task.cancel()
        try:
            # Shielded: a caller cancelled while waiting must not cancel the evaluation.
            await asyncio.shield(self.task)
        except asyncio.CancelledError:
            if not self.task.done():
                raise  # the caller was cancelled, not the runner
