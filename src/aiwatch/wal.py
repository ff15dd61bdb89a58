"""The write-ahead log of local samples: what was stored since the last snapshot, on disk.

Every sample the store keeps is noted (``add``, on the event loop: three array appends) and
written out after each self-scrape (``flush``, in a thread) as one record of a segment file
``wal/NNNNNNNN``. A record is its length, a CRC-32 and a deflated body: the labels of the
series not yet named in this segment (as numbers in a table of the label pairs they use),
then the series numbers, times and values of the samples. Each ``checkpoint`` closes the
segment and starts the next one; once a snapshot holds everything the closed segments did,
they are deleted (``truncate``). At start-up the segments after the snapshot are replayed on
top of it, up to the first record that is incomplete or damaged (a write cut short by a
crash), a few hundred thousand samples at a time, sorted by series (``bulk``).

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
from typing import Any, TypeVar

from aiwatch.promql import bulk, columns
from aiwatch.promql.series import Series
from aiwatch.promql.storage import Labels, MemoryStorage

log = logging.getLogger("aiwatch.wal")

FSYNC_EVERY = 10.0
"""Seconds between two syncs of the open segment to the disk, at most."""

DIRECTORY = "wal"

_FRAME = struct.Struct("<II")  # body length, CRC-32 of the body
_BODY = struct.Struct("<QIIII")  # run (with _TABLE), series named, samples, pairs, text bytes
_TABLE = 1 << 63
"""Set in a record's run (a 63-bit number) when the record holds its series' labels as
numbers in a table of its label pairs; records without it (earlier versions) hold JSON."""
_V1_BODY = struct.Struct("<QII")  # run, series named, samples
_V1_NAMED = struct.Struct("<II")  # series number, length of its labels (JSON)
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
    numbers: dict[tuple[str, str], int] = {}
    named_refs, key_lens, indices = array("Q"), array("I"), array("I")
    for ref, key in batch.named:
        named_refs.append(ref)
        key_lens.append(len(key))
        indices.extend([numbers.setdefault(pair, len(numbers)) for pair in key])
    lengths, text = columns.join_text([s for pair in numbers for s in pair])
    parts = [
        _BODY.pack(run | _TABLE, len(batch.named), len(batch.refs), len(numbers), len(text)),
        lengths.tobytes(),
        text,
        *(part.tobytes() for part in (named_refs, key_lens, indices)),
        *(part.tobytes() for part in (batch.refs, batch.times, batch.values)),
    ]
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
    if not _V1_BODY.unpack_from(body)[0] & _TABLE:
        return _decode_v1(body)
    run, n_named, n_samples, n_pairs, n_text = _BODY.unpack_from(body)
    reader = _Reader(body, _BODY.size)
    strings = columns.split_text(reader.take(array("I"), 2 * n_pairs), reader.bytes(n_text))
    pairs = list(zip(strings[::2], strings[1::2], strict=True))
    named_refs = reader.take(array("Q"), n_named)
    key_lens = reader.take(array("I"), n_named)
    indices = reader.take(array("I"), sum(key_lens))
    keys = columns.keys_of(key_lens, indices, pairs)
    batch = Batch(list(zip(named_refs, keys, strict=True)))
    for part in (batch.refs, batch.times, batch.values):
        reader.take(part, n_samples)
    reader.end()
    return run & ~_TABLE, batch


class _Reader:
    """Reads the parts of a record's body one after the other."""

    def __init__(self, body: bytes, pos: int) -> None:
        self.body, self.pos = body, pos

    def take(self, part: _A, n: int) -> _A:
        end = self.pos + n * part.itemsize
        if end > len(self.body):
            msg = "record too short"
            raise ValueError(msg)
        part.frombytes(self.body[self.pos : end])
        self.pos = end
        return part

    def bytes(self, n: int) -> bytes:
        self.pos += n
        return self.body[self.pos - n : self.pos]

    def end(self) -> None:
        if self.pos != len(self.body):
            msg = "record of the wrong length"
            raise ValueError(msg)


_A = TypeVar("_A", bound="array[Any]")


def _decode_v1(body: bytes) -> tuple[int, Batch]:
    """A record of the earlier layout: each named series' labels as JSON."""
    run, n_named, n_samples = _V1_BODY.unpack_from(body)
    pos = _V1_BODY.size
    batch = Batch()
    # Series named together share most label pairs: one copy of each, the rest freed at once.
    shared: dict[tuple[str, str], tuple[str, str]] = {}
    for _ in range(n_named):
        ref, length = _V1_NAMED.unpack_from(body, pos)
        pos += _V1_NAMED.size
        # The CRC vouches for a list of pairs of strings.
        pairs = map(tuple, _DECODER.decode(body[pos : pos + length].decode()))
        batch.named.append((ref, tuple([shared.setdefault(p, p) for p in pairs])))
        pos += length
    reader = _Reader(body, pos)
    for part in (batch.refs, batch.times, batch.values):
        reader.take(part, n_samples)
    reader.end()
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


REPLAY_BATCH = 500_000
"""Samples read from the log before they are sorted by series and appended."""


def replay(storage: MemoryStorage, directory: str, *, first: int, mint_ms: int) -> int:
    """Append the samples of segments ``first`` and later newer than ``mint_ms``; how many.

    Samples the store already holds (taken into the snapshot while the segment was being
    written) are skipped, as are those of series whose labels were in a lost record. The
    records are read a few hundred thousand samples at a time and each series' samples of
    them appended at once (``bulk.append_runs``).
    """
    named: dict[int, dict[int, Labels]] = {}  # by run, by series number
    pending: dict[int, Batch] = {}  # samples read and not yet appended, by run
    replayed = held = 0
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
            named.setdefault(run, {}).update(batch.named)
            held += _hold(pending, run, batch)
            if held >= REPLAY_BATCH:
                replayed += _append_pending(storage, pending, named, mint_ms)
                held = 0
    return replayed + _append_pending(storage, pending, named, mint_ms)


def _hold(pending: dict[int, Batch], run: int, batch: Batch) -> int:
    held = pending.get(run)
    if held is None:
        pending[run] = Batch(refs=batch.refs, times=batch.times, values=batch.values)
    else:
        held.refs += batch.refs
        held.times += batch.times
        held.values += batch.values
    return len(batch.refs)


def _append_pending(
    storage: MemoryStorage,
    pending: dict[int, Batch],
    named: dict[int, dict[int, Labels]],
    mint_ms: int,
) -> int:
    """Append the samples held, run by run in the order they were written."""
    replayed = 0
    for run, batch in pending.items():
        runs = bulk.runs_of(batch.refs, batch.times, batch.values, named[run].get, mint_ms)
        replayed += bulk.append_runs(storage, runs)
    pending.clear()
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
