"""When probes run: each target on its own interval, spread by name, on shards, through reloads."""

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aiohttp

from aiwatch.clock import MonotonicClock, SystemClock
from aiwatch.config.model import Budget, Target
from aiwatch.probes import make_session, run_probe
from aiwatch.probes.budget import Budgets, iso_day, next_day
from aiwatch.probes.result import ErrorType, ProbeResult
from aiwatch.probes.series import ProbeSeries, TargetSeries

log = logging.getLogger("aiwatch.probes")

TIMEOUT_GUARD = 0.25
"""Slack over a target's timeout before the scheduler itself cancels a probe.

``run_probe`` enforces the timeout on the exchange; this outer bound also covers the work
around it, so nothing an endpoint does can keep a probe running much past its timeout.
"""


def _hash(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def shard_of(name: str, count: int) -> int:
    """The shard (0 … count-1) a target name belongs to; stable across processes and hosts."""
    return int.from_bytes(_hash(name)[:8], "big") % count


def offset_of(name: str, interval: float) -> float:
    """A target's stable phase within its interval, as Prometheus spreads its scrapes."""
    fraction = int.from_bytes(_hash(name)[8:16], "big") / 2.0**64
    return fraction * interval


def first_due(*, name: str, interval: float, now: float) -> float:
    """The first wall-clock time at or after ``now`` that is on the target's phase."""
    phase = offset_of(name, interval)
    return math.ceil((now - phase) / interval) * interval + phase


def failed_result(
    target: Target, *, error_type: ErrorType | None, error: str, started: float, duration: float
) -> ProbeResult:
    """A result for a probe that the scheduler itself had to end (or that raised)."""
    return ProbeResult(
        target=target.name,
        success=False,
        error_type=error_type,
        error=error,
        status_code=None,
        duration=duration,
        time_to_first_byte=None,
        time_to_first_token=None,
        time_per_output_token=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        ratelimit_remaining_requests=None,
        ratelimit_remaining_tokens=None,
        response_model=None,
        system_fingerprint=None,
        embedding_dimensions=None,
        checks=(),
        started_at=started,
        finished_at=started + duration,
        request_summary="",
        response_excerpt="",
    )


async def probe_once(
    target: Target, session: aiohttp.ClientSession, *, prompt_index: int = 0
) -> ProbeResult:
    """``run_probe`` bounded once more by the target's timeout (plus ``TIMEOUT_GUARD``)."""
    started, start = time.time(), time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout + TIMEOUT_GUARD):
            return await run_probe(target, session, prompt_index=prompt_index)
    except TimeoutError:
        message = f"probe cancelled by the scheduler after the {target.timeout:g}s timeout"
        error_type: ErrorType | None = "timeout"
    except Exception as exc:  # a bug must not stop the schedule; it shows as error_type="other"
        log.exception("Probe raised", extra={"target": target.name})
        message, error_type = f"internal error: {type(exc).__name__}", None
    duration = time.perf_counter() - start
    return failed_result(
        target, error_type=error_type, error=message, started=started, duration=duration
    )


@dataclass(eq=False)
class Entry:
    """One scheduled target: its schedule, session, running probe and last result."""

    target: Target
    series: TargetSeries
    start: float
    """Monotonic time of slot 0; slot k is due at ``start + k * interval`` (no drift)."""
    slot: int = 0
    task: asyncio.Task[None] | None = None
    session: aiohttp.ClientSession | None = None
    runs: int = 0
    last: ProbeResult | None = None
    paused: str | None = None
    """Why the probes are paused (a spent budget), while they are."""

    @property
    def running(self) -> bool:
        """Whether a probe of this target is in flight."""
        return self.task is not None and not self.task.done()

    @property
    def due(self) -> float:
        """Monotonic time of the next slot."""
        return self.start + self.slot * self.target.interval


class Scheduler:
    """Runs every target of this shard on its interval and folds results into ``series``.

    One task waits on the clock for the earliest due slot (a heap of every target's next
    slot), fires every slot that is due, and waits again; a target added meanwhile with an
    earlier slot cuts the wait short.
    """

    def __init__(
        self,
        *,
        series: ProbeSeries,
        shard: tuple[int, int] = (0, 1),
        record_lag: bool = False,
        clock: MonotonicClock | None = None,
    ) -> None:
        self.series = series
        self.clock: MonotonicClock = clock or SystemClock()
        self.shard = shard
        self.entries: dict[str, Entry] = {}
        self.configured: tuple[Target, ...] = ()
        self.lags: deque[float] | None = deque(maxlen=1 << 16) if record_lag else None
        """Recent scheduling lags (seconds from due to probe start), for benchmarks."""
        self.listeners: list[Callable[[ProbeResult], None]] = []
        """Called with each scheduled probe's result after it is recorded (e.g. experiments)."""
        self._running = False
        self._queue: list[tuple[float, int]] = []
        """(due, slot number) of each target's next slot, a heap; removed entries linger."""
        self._slots: dict[int, Entry] = {}
        """The entry of each slot number in ``_queue``. The heap holds plain numbers, which
        the cyclic collector stops tracking, rather than one tuple per target that it walks."""
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._nap: asyncio.Future[None] | None = None
        self.budgets = Budgets()

    def in_shard(self, name: str) -> bool:
        """Whether this instance probes the target called ``name``."""
        index, count = self.shard
        return count <= 1 or shard_of(name, count) == index

    async def update(self, targets: Iterable[Target], *, budget: Budget | None = None) -> None:
        """Apply a (re)loaded target list: add, change and remove without touching the rest.

        ``budget`` is ``global.budget``; what was spent today is kept across reloads.
        """
        self.configured = tuple(targets)
        wanted = {t.name: t for t in self.configured if self.in_shard(t.name)}
        self.budgets.overall = budget
        self.budgets.forget(set(wanted))
        for name in [n for n in self.entries if n not in wanted]:
            await self._drop(name)
            self.series.remove(name)
        for name, target in wanted.items():
            entry = self.entries.get(name)
            if entry is not None and entry.target == target:
                continue
            if entry is not None:
                await self._drop(name)
            self._add(target)

    def start(self) -> None:
        """Begin running every known target on its schedule."""
        self._running = True
        for entry in self.entries.values():
            self._arm(entry)
        self._driver = asyncio.get_running_loop().create_task(
            self._drive(), name="aiwatch-probe-scheduler"
        )

    async def stop(self) -> None:
        """Stop the schedule, cancel running probes; close every session."""
        self._running = False
        entries = list(self.entries.values())
        self.entries.clear()
        self._queue.clear()
        self._slots.clear()
        # The schedule first, then all probes at once: stopping targets one by one would let
        # the others keep firing while each cancellation waits for its turn on the loop.
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
        tasks = [e.task for e in entries if e.task is not None and not e.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(e.session.close() for e in entries if e.session is not None))

    def _add(self, target: Target) -> None:
        now, wall = self.clock.monotonic(), self.clock.now()
        start = now + first_due(name=target.name, interval=target.interval, now=wall) - wall
        entry = self.entries[target.name] = Entry(
            target=target, series=self.series.ensure(target), start=start
        )
        entry.series.set_budget(self.budgets.remaining(target, wall))
        if self._running:
            self._arm(entry)

    async def _drop(self, name: str) -> None:
        entry = self.entries.pop(name)
        if entry.task is not None and not entry.task.done():
            entry.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await entry.task
        if entry.session is not None:
            await entry.session.close()

    def _arm(self, entry: Entry) -> None:
        """Queue the entry's next slot; wake the schedule if it is now the earliest."""
        order = next(self._order)
        self._slots[order] = entry
        heapq.heappush(self._queue, (entry.due, order))
        if self._nap is not None and self._queue[0][1] == order:
            self._nap.cancel()

    async def _drive(self) -> None:
        while True:
            if not self._queue:
                await self._wait(None)
                continue
            due, order = self._queue[0]
            delay = due - self.clock.monotonic()
            if delay > 0:
                await self._wait(delay)
                continue
            heapq.heappop(self._queue)
            entry = self._slots.pop(order)
            if self.entries.get(entry.target.name) is entry:  # else removed or replaced
                self._fire(entry)

    async def _wait(self, delay: float | None) -> None:
        """Sleep ``delay`` on the clock (until woken with None), or less if ``_arm`` wakes us."""
        if delay is None:
            nap: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        else:
            nap = asyncio.ensure_future(self.clock.sleep(delay))
        self._nap = nap
        try:
            # wait(), not await: a nap cut short must not look like our own cancellation.
            await asyncio.wait((nap,))
        finally:
            self._nap = None
            nap.cancel()

    def _fire(self, entry: Entry) -> None:
        due = entry.due
        if entry.running:
            entry.series.skip()
        elif not self._paused(entry):
            entry.task = asyncio.get_running_loop().create_task(self._probe(entry, due))
        now = self.clock.monotonic()
        entry.slot += 1
        if entry.due <= now:
            # The loop was blocked for more than an interval: resume on the next future slot
            # of the same grid rather than firing a burst of catch-up probes, and count the
            # slots passed over as skipped so that no lost probe goes unseen.
            missed = math.floor((now - entry.start) / entry.target.interval) + 1 - entry.slot
            entry.series.skip(missed)
            entry.slot += missed
        self._arm(entry)

    def _paused(self, entry: Entry) -> bool:
        """Whether a spent budget holds the entry's probe back; logs once when it starts."""
        target, now = entry.target, self.clock.now()
        reason = self.budgets.exhausted(target, now)
        if reason is None:
            entry.paused = None
            return False
        if entry.paused is None:
            log.warning(
                "Probes of target %s paused until %s: %s",
                target.name,
                iso_day(next_day(now)),
                reason,
                extra={"target": target.name},
            )
        entry.paused = reason
        entry.series.set_budget(self.budgets.remaining(target, now))
        return True

    async def _probe(self, entry: Entry, due: float) -> None:
        try:
            await self._probe_and_record(entry, due)
        finally:
            # The finished task (its coroutine, context) would otherwise stay until the next
            # slot: thousands of targets' worth of objects the cyclic collector walks again.
            if entry.task is asyncio.current_task():
                entry.task = None

    async def _probe_and_record(self, entry: Entry, due: float) -> None:
        if self.lags is not None:
            self.lags.append(self.clock.monotonic() - due)
        if entry.session is None:
            entry.session = make_session(entry.target)
        index = entry.runs
        entry.runs += 1
        result = await probe_once(entry.target, entry.session, prompt_index=index)
        entry.last = result
        now = self.clock.now()
        self.budgets.spend(entry.target, result, now)
        entry.series.set_budget(self.budgets.remaining(entry.target, now))
        entry.series.observe(result)
        for listener in list(self.listeners):
            try:
                listener(result)
            except Exception:  # a listener's bug must not stop the schedule
                log.exception("Probe listener raised", extra={"target": entry.target.name})

    def next_due(self, name: str) -> float | None:
        """Wall-clock time of the target's next probe, or None if this instance does not run it."""
        entry = self.entries.get(name)
        if entry is None or not self._running:
            return None
        return self.clock.now() + entry.due - self.clock.monotonic()
