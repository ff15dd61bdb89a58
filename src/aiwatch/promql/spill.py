"""Where the local sample store keeps its full closed chunks: in files, not in memory.

A chunk of ``chunks.CHUNK`` samples never changes once merged, and most windows (the rules'
last few minutes) never read it, so it need not take the process' memory. The store appends
each one to a segment file and keeps only a number for it: its position and length. Reads
use ``os.pread``, so they go through the page cache without being mapped into the process
(the kernel keeps hot chunks cached and drops cold ones as memory is needed), and a forked
rule child reads them as the parent does, through the descriptors it inherits.

Segment files are unnamed (``O_TMPFILE``, or unlinked at once where that is missing) in the
storage path, so they vanish with the process however it ends; durability is the snapshot's
and the write-ahead log's job (``persistence``), which copy the chunks they need. A segment
is closed, and its space freed, once the retention has passed its newest chunk.

Writes are batched: a segment's newest bytes wait in memory (up to ``BUFFER`` bytes) and
are written together. When a write fails (a full disk, a read-only filesystem), the bytes
stay in memory, so nothing is lost: the store then uses memory as it did before, one warning
is logged, and the next segment tries a file again.
"""

from __future__ import annotations

import logging
import os
import tempfile
from bisect import bisect_right

from aiwatch.promql.shared import Recent

log = logging.getLogger("aiwatch.storage")

SEGMENT = 16 * 2**20
"""Bytes after which a segment is full and the next chunk starts a new one."""

BUFFER = 256 * 2**10
"""Bytes a segment keeps in memory before writing them to its file."""

_LENGTH_BITS = 20
MAX_CHUNK = 2**_LENGTH_BITS - 1
"""The largest chunk a reference can name (a chunk of 128 samples takes at most 2 KB)."""


class _Segment:
    """One file of chunks: the first ``written`` bytes in the file, the rest in ``pending``."""

    __slots__ = ("fd", "newest_ms", "pending", "start", "written")

    def __init__(self, start: int, fd: int | None) -> None:
        self.start = start
        self.fd = fd
        self.written = 0
        self.pending = bytearray()
        self.newest_ms = -(2**63)

    def size(self) -> int:
        return self.written + len(self.pending)

    def read(self, offset: int, length: int) -> bytes:
        at = offset - self.start
        if at >= self.written:
            return bytes(self.pending[at - self.written : at - self.written + length])
        assert self.fd is not None
        in_file = min(length, self.written - at)  # a short write may have split the chunk
        data = os.pread(self.fd, in_file, at)
        if len(data) != in_file:
            msg = f"closed chunk at {offset} cut short ({len(data)} of {in_file} bytes)"
            raise OSError(msg)
        if in_file < length:
            data += bytes(self.pending[: length - in_file])
        return data

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        # A store dropped without ``close`` (a test's, a rule unit test's) frees its files.
        self.close()


class Spill:
    """Closed chunks by reference: ``put`` gives a number, ``get`` gives the bytes back.

    Not thread-safe by itself: the store calls it under its lock.
    """

    def __init__(self, directory: str | None = None) -> None:
        self.directory = directory
        self._segments: list[_Segment] = []
        self._starts: list[int] = []
        self._end = 0  # every chunk's position counts from the first segment ever made
        self._failing = False
        # Chunks put lately, to give an equal chunk the same reference.
        self._known: Recent[bytes, int] = Recent()

    def put(self, chunk: bytes, newest_ms: int) -> int:
        """Keep ``chunk`` (whose newest sample is at ``newest_ms``); its reference (≥ 0).

        A chunk equal to one put lately (and still kept) gets that one's reference: series
        with the same samples (histogram buckets that did not move, the counts of targets
        probed alike) share their chunks, and their arrays of bounds become equal too."""
        known = self._known.get(chunk)
        if known is not None and self._starts and known >> _LENGTH_BITS >= self._starts[0]:
            return known
        length = len(chunk)
        if length > MAX_CHUNK:
            msg = f"a closed chunk of {length} bytes is too large to keep"
            raise ValueError(msg)
        segments = self._segments
        if not segments or segments[-1].size() + length > SEGMENT:
            self._flush()
            self._open()
        segment = segments[-1]
        offset = segment.start + segment.size()
        segment.pending += chunk
        segment.newest_ms = max(segment.newest_ms, newest_ms)
        self._end = offset + length
        if len(segment.pending) >= BUFFER:
            self._flush()
        ref = offset << _LENGTH_BITS | length
        self._known.put(chunk, ref)
        return ref

    def get(self, ref: int) -> bytes:
        """The chunk kept under ``ref``; ``KeyError`` if its segment was released."""
        return self.get_many([ref])[0]

    def get_many(self, refs: list[int]) -> list[bytes]:
        """The chunk kept under each of ``refs`` (``KeyError`` as ``get``), looking up a
        segment only when the next chunk is in another one (a snapshot reads them all)."""
        out = []
        segment: _Segment | None = None
        low = high = 0
        for ref in refs:
            offset, length = ref >> _LENGTH_BITS, ref & MAX_CHUNK
            if not low <= offset < high:
                i = bisect_right(self._starts, offset) - 1
                if i < 0:
                    raise KeyError(ref)
                segment = self._segments[i]
                low, high = segment.start, segment.start + segment.size()
            if offset + length > high:
                raise KeyError(ref)
            assert segment is not None
            out.append(segment.read(offset, length))
        return out

    def release_before(self, t_ms: int) -> int:
        """Close every segment but the newest whose chunks all end before ``t_ms`` (past
        the retention); how many bytes that freed."""
        freed = 0
        while len(self._segments) > 1 and self._segments[0].newest_ms < t_ms:
            segment = self._segments.pop(0)
            self._starts.pop(0)
            freed += segment.size()
            segment.close()
        return freed

    def sizes(self) -> tuple[int, int]:
        """Bytes kept in files and bytes kept in memory."""
        on_disk = sum(s.written for s in self._segments)
        return on_disk, sum(len(s.pending) for s in self._segments)

    def close(self) -> None:
        """Close every segment (the store must not read its chunks afterwards)."""
        for segment in self._segments:
            segment.close()
        self._segments.clear()
        self._starts.clear()
        self._known.clear()

    def _open(self) -> None:
        fd: int | None = None
        try:
            # Unnamed: nothing to clean up after a crash. ``TemporaryFile`` uses O_TMPFILE
            # where the filesystem has it, else it unlinks a named file at once.
            with tempfile.TemporaryFile(dir=self.directory, prefix=".chunks-") as fh:
                fd = os.dup(fh.fileno())
        except OSError as err:
            self._fail(err)
        self._segments.append(_Segment(self._end, fd))
        self._starts.append(self._end)

    def _flush(self) -> None:
        if not self._segments:
            return
        segment = self._segments[-1]
        if segment.fd is None or not segment.pending:
            return
        try:
            done = os.pwrite(segment.fd, segment.pending, segment.written)
        except OSError as err:
            self._fail(err)
            return
        segment.written += done
        del segment.pending[:done]
        if segment.pending:  # a short write: the disk is full
            self._fail(OSError("short write"))
            return
        if self._failing:
            self._failing = False
            log.info("Closed chunks are written to disk again")

    def _fail(self, err: OSError) -> None:
        if not self._failing:
            self._failing = True
            log.warning(
                "Cannot write closed chunks to disk; keeping them in memory",
                extra={"dir": self.directory or tempfile.gettempdir(), "err": str(err)},
            )
