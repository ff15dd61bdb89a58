"""Local samples on disk: recovery at start-up, the log after each scrape, checkpoints.

The files under ``--storage.path``: ``samples.snapshot`` (every series, written every
``SNAPSHOT_INTERVAL`` seconds and at shutdown) and ``wal/`` (what was stored since, see
``wal``). A disk that fails (full, read-only) is reported once per change of the problem,
and the store goes on in memory; the next write that succeeds says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from aiwatch import snapshot, wal
from aiwatch.gcpause import collections_paused
from aiwatch.promql.storage import MemoryStorage
from aiwatch.trim import release_free_memory

log = logging.getLogger("aiwatch.persistence")

SNAPSHOT_FILE = "samples.snapshot"
SNAPSHOT_INTERVAL = 60.0
SNAPSHOT_STEP = snapshot.BLOCK
"""Series encoded into a snapshot between two looks at the clock: one block of columns, the
file's unit (smaller blocks would make the file and its recovery slower)."""
SLICE_S = 0.008
"""Work a slice of the self-scrape or of the snapshot does before it lets other tasks run:
a callback of the loop then stays near 10 ms however fast the machine is."""


@dataclass(frozen=True)
class Recovered:
    """What start-up took back from the files."""

    series: int
    replayed: int
    seconds: float


class SampleFiles:
    """The snapshot and the write-ahead log of one store, under one directory."""

    def __init__(self, storage: MemoryStorage, directory: str) -> None:
        self.storage = storage
        storage.spill_to(directory)
        self.snapshot_path = os.path.join(directory, SNAPSHOT_FILE)
        self.wal = wal.WriteAheadLog(os.path.join(directory, wal.DIRECTORY))
        self._problems: dict[str, str] = {}  # what failed: how, until it works again
        self._lock = asyncio.Lock()

    def recover(self, *, mint_ms: int) -> Recovered:
        """Load the snapshot, replay the log after it, then log every new sample."""
        started = time.perf_counter()
        restored = snapshot.restore(self.storage, self.snapshot_path, mint_ms=mint_ms)
        with collections_paused():
            replayed = wal.replay(
                self.storage, self.wal.directory, first=restored.next_segment, mint_ms=mint_ms
            )
        self.storage.log = self.wal
        release_free_memory()  # what decoding the snapshot and the log used and freed
        return Recovered(restored.series, replayed, time.perf_counter() - started)

    async def flush(self) -> None:
        """Hand the samples stored since the last flush to the operating system."""
        async with self._lock:
            await self._write(self.wal.take(), self.wal.segment)

    async def _write(self, batch: wal.Batch, segment: int) -> None:
        if not batch.refs and not batch.named:
            return
        try:
            await asyncio.to_thread(self.wal.write, batch, segment)
        except OSError as err:
            # The record may be cut short in the file: later ones go to a new segment, which
            # names every series again.
            await asyncio.to_thread(self._abandon_segment)
            self.wal.segment += 1
            self.wal.forget_named()
            self._failed("Cannot write the sample log", err)
        else:
            self._succeeded("Cannot write the sample log")

    def _abandon_segment(self) -> None:
        with contextlib.suppress(OSError):  # reported by the write that failed
            self.wal.close_segment()

    async def checkpoint(self) -> None:
        """Close the log's segment, snapshot the store, delete the segments it holds."""
        async with self._lock:
            closing = self.wal.segment
            batch = self.wal.take()
            self.wal.segment += 1
            self.wal.forget_named()
            await self._write(batch, closing)
            await asyncio.to_thread(self._abandon_segment)
        # Samples stored while the snapshot is taken go to the next segment too; replaying
        # one the snapshot already holds changes nothing.
        try:
            await self._save_snapshot(closing + 1)
            await asyncio.to_thread(self.wal.truncate, closing + 1)
        except OSError as err:
            self._failed("Cannot save the sample snapshot", err)
        else:
            self._succeeded("Cannot save the sample snapshot")
        await asyncio.to_thread(release_free_memory)  # what encoding it used and freed

    async def _save_snapshot(self, next_segment: int) -> None:
        """Write the snapshot to a temporary file slice by slice, then put it in place.

        Written as it is encoded, the snapshot is never whole in memory: at 80,000 series
        it is tens of MB, which the process would otherwise keep as slack after each one.
        """
        tmp = f"{self.snapshot_path}.tmp"
        os.makedirs(os.path.dirname(self.snapshot_path) or ".", exist_ok=True)
        fh = await asyncio.to_thread(open, tmp, "wb")
        try:
            parts: list[bytes] = []
            snapshot.set_next_segment(parts, next_segment)
            steps = snapshot.encode_steps(self.storage, parts, pause_every=SNAPSHOT_STEP)
            done = False
            while not done:
                done = run_for(steps, SLICE_S)
                data = b"".join(parts)
                parts.clear()
                await asyncio.to_thread(fh.write, data)
            await asyncio.to_thread(snapshot.sync_and_replace, fh, tmp, self.snapshot_path)
        except BaseException:
            fh.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @property
    def problem(self) -> str | None:
        """The disk error of the latest write that failed, until writes succeed again."""
        return next(iter(self._problems.values()), None)

    def _failed(self, message: str, err: OSError) -> None:
        problem = f"{message}: {err.strerror or err}"
        if self._problems.get(message) != problem:
            log.warning(message, extra={"path": err.filename or "", "err": err.strerror or ""})
        self._problems[message] = problem

    def _succeeded(self, message: str) -> None:
        problem = self._problems.pop(message, None)
        if problem is not None:
            log.info("Local samples are written to disk again", extra={"after": problem})


def run_for(steps: Iterator[None], budget_s: float) -> bool:
    """Advance a step generator for about ``budget_s`` seconds; whether it has finished.

    The slice runs with cyclic garbage collection paused (it only allocates what it keeps
    or frees at once), so a big store is not traversed again and again meanwhile.
    """
    deadline = time.perf_counter() + budget_s
    with collections_paused():
        while next(steps, _DONE) is not _DONE:
            if time.perf_counter() >= deadline:
                return False
    return True


async def run_in_slices(steps: Iterator[None], *, budget_s: float = SLICE_S) -> None:
    """Run a step generator on the event loop in slices of about ``budget_s`` seconds,
    letting other tasks run between them."""
    while True:
        if run_for(steps, budget_s):
            return
        await asyncio.sleep(0)


_DONE = object()
