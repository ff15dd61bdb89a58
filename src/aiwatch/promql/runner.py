"""Queries off the event loop: a small pool of worker threads, each query within its limits.

The loop hands an expression to ``QueryRunner.query`` and awaits it; a worker thread
evaluates it with a ``Budget`` that it checks between steps, so the loop keeps serving
(CPython switches threads every 5 ms; ``pacing`` makes the worker give way while the loop is
busy) and a query that runs too long, loads too much or is no longer wanted stops at its
next step. Readers of the HTTP API share
``max_concurrency`` workers; rule evaluation has one more worker of its own, so readers
cannot hold the rules up.
"""

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Literal, TypeVar

from aiwatch.promql.engine import instant_query
from aiwatch.promql.forking import AVAILABLE, Forker
from aiwatch.promql.limits import (
    CANCELED_MESSAGE,
    QUEUE_TIMEOUT_MESSAGE,
    TIMEOUT_MESSAGE,
    Budget,
    QueryCanceledError,
    QueryLimits,
    QueryTimeoutError,
)
from aiwatch.promql.pacing import BEAT_S, Heartbeat, serving
from aiwatch.promql.storage import Storage
from aiwatch.promql.syntax import Expr
from aiwatch.promql.values import Scalar, String, Vector

Lane = Literal["api", "rules"]
T = TypeVar("T")

_GRACE_S = 1.0
"""How long past its deadline the loop waits for a thread that has not reached a check."""


class QueryRunner:
    """Runs queries in worker threads under ``limits``; ``close`` stops them all.

    With ``fork`` (the default where ``os.fork`` exists) rule groups are evaluated in forked
    children instead (``forker``, ``rules_slot``; see ``aiwatch.rules.forked``).
    """

    def __init__(self, limits: QueryLimits, *, fork: bool = AVAILABLE) -> None:
        self.limits = limits
        self.forker: Forker | None = Forker() if fork and AVAILABLE else None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=limits.max_concurrency + 1, thread_name_prefix="promql"
        )
        self._slots: dict[Lane, asyncio.Semaphore] = {
            "api": asyncio.Semaphore(limits.max_concurrency),
            "rules": asyncio.Semaphore(1),
        }
        self._running: dict[Budget, Lane] = {}
        self._closed = False
        self._heart = Heartbeat()
        self._beating: asyncio.TimerHandle | None = None

    async def query(
        self,
        expr: Expr,
        storage: Storage,
        t_ms: int,
        *,
        lookback_ms: int = 300_000,
        subquery_step_ms: int = 60_000,
        lane: Lane = "api",
        timeout_s: float | None = None,
    ) -> Vector | Scalar | String:
        """``instant_query`` in a worker; ``LimitError`` when a limit stops it.

        The timeout (``timeout_s`` if shorter than the limit's) counts from the call, so time
        spent waiting for a free worker counts too (``query timed out in query queue``, as in
        Prometheus).
        """

        def work(budget: Budget) -> Vector | Scalar | String:
            return instant_query(
                expr,
                storage,
                t_ms,
                lookback_ms=lookback_ms,
                subquery_step_ms=subquery_step_ms,
                budget=budget,
            )

        return await self.run(work, lane=lane, timeout_s=timeout_s)

    async def run(
        self,
        work: Callable[[Budget], T],
        *,
        lane: Lane = "api",
        timeout_s: float | None = None,
    ) -> T:
        """``work(budget)`` in a worker under the limits, as ``query`` runs an instant query.

        ``work`` must call the budget's ``check``/``add`` between its steps (the evaluator
        does), so that the deadline, the sample limit and cancellation can stop it.
        """
        budget = Budget(self.limits, started=time.monotonic(), timeout_s=timeout_s)
        slots = self._slots[lane]
        try:
            async with asyncio.timeout(max(budget.remaining(), 0.0)):
                await slots.acquire()
        except TimeoutError:
            raise QueryTimeoutError(QUEUE_TIMEOUT_MESSAGE) from None
        if self._closed:
            slots.release()
            raise QueryCanceledError(CANCELED_MESSAGE)
        loop = asyncio.get_running_loop()
        self._running[budget] = lane
        if self._beating is None:
            self._beat(loop)
        future = self._pool.submit(_paced, self._heart, work, budget)

        def finished(_: object) -> None:
            # The slot is free only once the thread is, even if nobody waits for it any more.
            self._running.pop(budget, None)
            slots.release()
            if not self._running and self._beating is not None:
                self._beating.cancel()
                self._beating = None

        future.add_done_callback(partial(_call_soon, loop, finished))
        try:
            async with asyncio.timeout(budget.remaining() + _GRACE_S):
                return await asyncio.wrap_future(future)
        except TimeoutError:
            budget.cancel()
            raise QueryTimeoutError(TIMEOUT_MESSAGE) from None
        except asyncio.CancelledError:
            budget.cancel()
            raise

    @contextlib.asynccontextmanager
    async def rules_slot(self) -> AsyncIterator[None]:
        """The rules' lane for a whole forked group evaluation (one at a time, as queries)."""
        async with self._slots["rules"]:
            yield

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stamp the heartbeat now and every ``BEAT_S`` while a query runs."""
        self._heart.stamp()
        self._beating = loop.call_later(BEAT_S, self._beat, loop)

    def cancel(self, lane: Lane | None = None) -> None:
        """Stop the running queries (of ``lane``, or all) at their next step."""
        for budget, its_lane in list(self._running.items()):
            if lane is None or its_lane == lane:
                budget.cancel()

    def close(self) -> None:
        """Cancel everything, refuse new queries, let the threads end without waiting."""
        self._closed = True
        self.cancel()
        if self.forker is not None:
            self.forker.close()
        if self._beating is not None:
            self._beating.cancel()
            self._beating = None
        self._pool.shutdown(wait=False, cancel_futures=True)


def _paced(heart: Heartbeat, work: Callable[[Budget], T], budget: Budget) -> T:
    with serving(heart):
        return work(budget)


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[[object], None], arg: object
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nothing left to release
        loop.call_soon_threadsafe(callback, arg)
