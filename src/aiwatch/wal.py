"""The write-ahead log of local samples: what was stored since the last snapshot, on disk.

Every sample the store keeps is noted (``add``, on the event loop: three array appends) and
written out after each self-scrape (``flush``, in a thread) as one record of a segment file
``wal/NNNNNNNN``. A record is its length, a CRC-32 and a deflated body: the labels of the
series not yet named in this segment, then the series numbers, times and values of the
samples. Each ``checkpoint`` closes the segment and starts the next one; once a snapshot
holds everything the closed segments did, they are deleted (``truncate``). At start-up the
segments after the snapshot are replayed on top of it, up to the first record that is
incomplete or damaged (a write cut short by a crash).

Durability: a record is handed to the operating system as soon as the self-scrape that made
it is stored, so a crash of the process (SIGKILL) loses at most the scrape in flight; the
file is synced to the disk at most every ``FSYNC_EVERY`` seconds, at each checkpoint and at
shutdown, so a power loss loses at most the last ``FSYNC_EVERY`` seconds.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import struct
import threading
import time
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiwatch.promql.series import Series
from aiwatch.promql.storage import Labels, MemoryStorage

log = logging.getLogger("aiwatch.wal")

FSYNC_EVERY = 10.0
"""Seconds between two syncs of the open segment to the disk, at most."""

DIRECTORY = "wal"

_FRAME = struct.Struct("<II")  # body length, CRC-32 of the body
_BODY = struct.Struct("<QII")  # run, series named, samples
_NAMED = struct.Struct("<II")  # series number, length of its labels (JSON)
_JSON = json.JSONEncoder(separators=(",", ":"))
_DECODER = json.JSONDecoder()


@dataclass
class Batch:
    """Samples noted since the last flush: new series' labels, then the samples."""

    named: list[tuple[int, Labels]] = field(default_factory=list)
    refs: array[int] = field(default_factory=lambda: array("Q"))
    times: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))


def encode(run: int, batch: Batch) -> bytes:
    """One framed record of ``batch``."""
    parts = [_BODY.pack(run, len(batch.named), len(batch.refs))]
    for ref, key in batch.named:
        labels = _JSON.encode(key).encode()
        parts += (_NAMED.pack(ref, len(labels)), labels)
    parts += (batch.refs.tobytes(), batch.times.tobytes(), batch.values.tobytes())
    body = zlib.compress(b"".join(parts), 1)
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def records(data: bytes) -> Iterator[tuple[int, Batch]]:
    """The whole records of a segment, up to the first incomplete or damaged one."""
    pos = 0
    while pos + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, pos)
        body = data[pos + _FRAME.size : pos + _FRAME.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            return
        pos += _FRAME.size + length
        try:
            yield _decode(zlib.decompress(body))
        except (ValueError, zlib.error, struct.error):
            return


def _decode(body: bytes) -> tuple[int, Batch]:
    run, n_named, n_samples = _BODY.unpack_from(body)
    pos = _BODY.size
    batch = Batch()
    # Series named together share most label pairs: one copy of each, the rest freed at once.
    shared: dict[tuple[str, str], tuple[str, str]] = {}
    for _ in range(n_named):
        ref, length = _NAMED.unpack_from(body, pos)
        pos += _NAMED.size
        # The CRC vouches for a list of pairs of strings.
        pairs = map(tuple, _DECODER.decode(body[pos : pos + length].decode()))
        batch.named.append((ref, tuple([shared.setdefault(p, p) for p in pairs])))
        pos += length
    for part in (batch.refs, batch.times, batch.values):
        end = pos + n_samples * part.itemsize
        part.frombytes(body[pos:end])
        pos = end
    if pos != len(body):
        msg = "record of the wrong length"
        raise ValueError(msg)
    return run, batch


def segments(directory: str) -> list[int]:
    """The numbers of the segment files in ``directory``, in order."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(name) for name in names if name.isdigit())


def segment_path(directory: str, number: int) -> str:
    """The file of segment ``number``."""
    return os.path.join(directory, f"{number:08d}")


def replay(storage: MemoryStorage, directory: str, *, first: int, mint_ms: int) -> int:
    """Append the samples of segments ``first`` and later newer than ``mint_ms``; how many.

    Samples the store already holds (taken into the snapshot while the segment was being
    written) are skipped, as are those of series whose labels were in a lost record.
    """
    named: dict[int, dict[int, Labels]] = {}  # by run, by series number
    replayed = 0
    for number in segments(directory):
        if number < first:
            continue
        try:
            with open(segment_path(directory, number), "rb") as fh:
                data = fh.read()
        except OSError as err:
            log.warning("Cannot read a log segment", extra={"segment": number, "err": str(err)})
            continue
        for run, batch in records(data):
            run_named = named.setdefault(run, {})
            run_named.update(batch.named)
            keys: list[Labels | None] = list(map(run_named.get, batch.refs))
            if batch.times and min(batch.times) < mint_ms:
                for i, t_ms in enumerate(batch.times):
                    if t_ms < mint_ms:
                        keys[i] = None
            replayed += storage.append_batch(keys, batch.times, batch.values)
    return replayed


class WriteAheadLog:
    """The log's writer: ``add`` on the event loop, ``write`` and ``close_segment`` in a
    thread (``persistence.SampleFiles`` runs them one at a time)."""

    def __init__(self, directory: str, *, fsync_every: float = FSYNC_EVERY) -> None:
        self.directory = directory
        self.fsync_every = fsync_every
        self.run = secrets.randbits(63)
        existing = segments(directory)
        self.segment = existing[-1] + 1 if existing else 1
        self.generation = 0
        self.pending = Batch()
        self._file: int | None = None
        self._synced = time.monotonic()
        # A write still running in its thread when its task was cancelled (at shutdown)
        # finishes before the next one starts.
        self._writing = threading.Lock()

    def add(self, series: Series, key: Labels, t_ms: int, value: float) -> None:
        """Note one stored sample (``MemoryStorage.log``)."""
        pending = self.pending
        if series.logged != self.generation:
            series.logged = self.generation
            pending.named.append((series.ref, key))
        pending.refs.append(series.ref)
        pending.times.append(t_ms)
        pending.values.append(value)

    def take(self) -> Batch:
        """The samples noted since the last ``take``."""
        batch, self.pending = self.pending, Batch()
        return batch

    def forget_named(self) -> None:
        """Name every series again in the next record (after a new segment or a lost one)."""
        self.generation += 1

    def write(self, batch: Batch, segment: int) -> None:
        """Append ``batch`` to ``segment`` (opened as needed); ``OSError`` if the disk fails."""
        if not batch.refs and not batch.named:
            return
        data = encode(self.run, batch)
        with self._writing:
            self._write(data, segment)

    def _write(self, data: bytes, segment: int) -> None:
        if self._file is None:
            os.makedirs(self.directory, exist_ok=True)
            path = segment_path(self.directory, segment)
            self._file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        view = memoryview(data)
        while view:
            view = view[os.write(self._file, view) :]
        if time.monotonic() - self._synced >= self.fsync_every:
            os.fsync(self._file)
            self._synced = time.monotonic()

    def close_segment(self) -> None:
        """Sync and close the open segment file, if any (it is never written again)."""
        with self._writing:
            fd, self._file = self._file, None
            if fd is not None:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._synced = time.monotonic()

    def truncate(self, before: int) -> None:
        """Delete the segments numbered below ``before`` (a snapshot holds their samples)."""
        for number in segments(self.directory):
            if number < before:
                os.unlink(segment_path(self.directory, number))
