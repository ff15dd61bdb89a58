"""A stream measured chunk by chunk: the gaps between content chunks, bursts and stalls."""

import asyncio
from bisect import bisect_left
from collections.abc import Callable
from types import TracebackType

from aiwatch import metrics
from aiwatch.probes.errors import ProbeFailure

GAP_BUCKETS = metrics.CHUNK_GAP_BUCKETS
BURST_WINDOW = 0.010
"""Content chunks that arrive within this many seconds of the first are one burst."""
BURST_SHARE = 0.9
"""A stream is buffered when at least this share of its content chunks is in the first burst."""
BURST_MIN_CHUNKS = 20
"""Fewer content chunks than this are never called buffered: a short answer fits in one read."""


class ChunkClock:
    """The arrival times of one stream's content chunks, folded as they come.

    ``tick`` runs once per content chunk, so it only compares and adds numbers: the gap goes
    straight into per-probe bucket counts (``GAP_BUCKETS``), no list of gaps is kept.
    """

    __slots__ = ("burst", "count", "first", "gap_counts", "gap_sum", "last", "longest")

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self.burst = 0
        self.longest = 0.0
        self.gap_sum = 0.0
        self.gap_counts = [0] * (len(GAP_BUCKETS) + 1)

    def tick(self, now: float) -> None:
        """A content chunk arrived at ``now`` (seconds since the request started)."""
        if self.count == 0:
            self.first = now
        else:
            gap = now - self.last
            self.gap_counts[bisect_left(GAP_BUCKETS, gap)] += 1
            self.gap_sum += gap
            if gap > self.longest:  # noqa: PLR1730 - per chunk: a compare is cheaper than max()
                self.longest = gap
        if now - self.first <= BURST_WINDOW:
            self.burst += 1
        self.count += 1
        self.last = now

    @property
    def buffered(self) -> bool:
        """Whether the content came in one burst, as from a proxy that buffers the stream."""
        return self.count >= BURST_MIN_CHUNKS and self.burst >= BURST_SHARE * self.count

    def gaps(self) -> int:
        """How many gaps were measured: one fewer than the content chunks."""
        return max(self.count - 1, 0)


class StallGuard:
    """Fails the probe with ``stream_stalled`` once no content chunk came for ``limit`` seconds.

    It watches from the first content chunk on (before it, ``timeout`` and
    ``expect.max_time_to_first_token`` apply). One timer, re-armed lazily: a chunk only moves
    ``clock.last``; when the timer fires early it sleeps again until ``last + limit``.
    """

    def __init__(self, clock: ChunkClock, limit: float, now: Callable[[], float]) -> None:
        self.clock = clock
        self.limit = limit
        self.now = now
        """Seconds since the request started, the clock ``ChunkClock.tick`` is given."""
        self.stalled = False
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> "StallGuard":
        self._task = asyncio.current_task()
        self._arm(self.limit)
        return self

    def _arm(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._handle = loop.call_at(loop.time() + delay, self._check)

    def _check(self) -> None:
        clock = self.clock
        if clock.count == 0:
            self._arm(self.limit)
            return
        left = clock.last + self.limit - self.now()
        if left > 0:
            self._arm(left)
            return
        self.stalled = True
        if self._task is not None:
            self._task.cancel()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        task = self._task
        # Our own cancel is taken back (``uncancel``) so the task is not left cancelling; a
        # cancel from elsewhere as well (shutdown) goes on as it came.
        if self.stalled and exc_type is asyncio.CancelledError and task and task.uncancel() == 0:
            gap = self.now() - self.clock.last
            msg = (
                f"stream stalled: no content for {gap:.3g}s after chunk {self.clock.count} "
                f"(stall_timeout {self.limit:g}s)"
            )
            raise ProbeFailure("stream_stalled", msg) from None
