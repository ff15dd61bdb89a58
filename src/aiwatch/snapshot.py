"""Local samples kept across restarts, as a Prometheus TSDB keeps them, so rules see history.

A snapshot holds every series as the store keeps it (its encoded chunks, head and reset
notes, see ``promql.series``) in blocks of columns (``promql.columns``), and the number of
the first write-ahead log segment that is not in it; samples stored later are replayed from
the log (``wal``). Snapshots of the two earlier layouts (a record per series) still load, and
the next snapshot is written in this one.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from aiwatch.gcpause import collections_paused
from aiwatch.promql import bulk, columns
from aiwatch.promql import series as stored_series
from aiwatch.promql.storage import Labels, MemoryStorage

log = logging.getLogger("aiwatch.snapshot")

MAGIC = b"AIWSNAP3"
_V2_MAGIC = b"AIWSNAP2"  # a record per series (encoded chunks), written by earlier versions
_OLD_MAGIC = b"AIWSNAP1"  # samples as plain arrays, written by earlier versions
BLOCK = 1_000
"""Series per block of columns, when the writer does not pause (``encode``)."""
_NEXT_SEGMENT = struct.Struct("<Q")
_HEADER = struct.Struct("<III")
# length of the JSON of the label pairs first used here, number of pairs, length of the state
_OLD_HEADER = struct.Struct("<II")  # length of the labels JSON, number of samples
_JSON = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True)
class Restored:
    """What ``restore`` brought back."""

    series: int
    next_segment: int


def encode(storage: MemoryStorage, *, mint_ms: int = 0, maxt_ms: int = 0) -> bytes:
    """Every series of ``storage`` as one byte string (retention is applied when loading)."""
    del mint_ms, maxt_ms  # the store keeps nothing past its retention or newer than now
    parts = [MAGIC, _NEXT_SEGMENT.pack(0)]
    for _ in encode_steps(storage, parts, pause_every=0):
        pass
    return b"".join(parts)


def encode_steps(storage: MemoryStorage, parts: list[bytes], *, pause_every: int) -> Iterator[None]:
    """``encode`` into ``parts`` (after ``MAGIC`` and the next segment's number), a block of
    ``pause_every`` series at a time (``BLOCK`` when 0), yielding after each block when
    ``pause_every`` is set: a caller on the event loop ``await``s at each yield."""
    size = pause_every or BLOCK
    # Label pairs are numbered in order of first use and each series lists its pairs' numbers,
    # so the file is small and loading shares one copy of each pair between series.
    numbers: dict[tuple[str, str], int] = {}
    block: list[tuple[Labels, stored_series.Series]] = []
    for item in storage.saved():
        block.append(item)
        if len(block) == size:
            parts.append(columns.encode(block, numbers, storage.spill))
            block.clear()
            if pause_every:
                yield
    if block:
        parts.append(columns.encode(block, numbers, storage.spill))


def save(storage: MemoryStorage, path: str, *, mint_ms: int = 0, maxt_ms: int = 0) -> int:
    """Write the snapshot atomically (temp file, then rename); returns its size in bytes."""
    data = encode(storage, mint_ms=mint_ms, maxt_ms=maxt_ms)
    write_atomically(path, data)
    return len(data)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file whole."""
    tmp = f"{path}.tmp"
    fh = open(tmp, "wb")  # noqa: SIM115 - closed by sync_and_replace
    try:
        fh.write(data)
    except BaseException:
        fh.close()
        raise
    sync_and_replace(fh, tmp, path)


def sync_and_replace(fh: BinaryIO, tmp: str, path: str) -> None:
    """Sync and close ``fh`` (written to ``tmp``), then rename ``tmp`` over ``path``."""
    with fh:
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(storage: MemoryStorage, path: str, *, mint_ms: int) -> int:
    """``restore``: how many series came back."""
    return restore(storage, path, mint_ms=mint_ms).series


def restore(storage: MemoryStorage, path: str, *, mint_ms: int) -> Restored:
    """Take back a saved snapshot's series, without samples older than ``mint_ms``.

    A missing file is a fresh start; a damaged one is logged and ignored from the damage on,
    since losing recent history only delays alerts, while refusing to start would stop them
    altogether.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return Restored(0, 0)
    except OSError as err:
        log.warning(
            "Cannot read the sample snapshot; starting without history",
            extra={"file": path, "err": err.strerror},
        )
        return Restored(0, 0)
    counted = [0]
    next_segment = 0
    try:
        if data.startswith(MAGIC):
            next_segment = _check_magic(data)
            with collections_paused():
                _restore_blocks(storage, data, mint_ms, counted)
        else:
            next_segment = _restore_records(storage, data, mint_ms, counted)
    except (ValueError, TypeError) as err:
        log.warning(
            "Damaged sample snapshot; starting with what was read",
            extra={"file": path, "err": str(err), "series": counted[0]},
        )
    return Restored(counted[0], next_segment)


def _restore_blocks(storage: MemoryStorage, data: bytes, mint_ms: int, counted: list[int]) -> None:
    """Restore the blocks of a snapshot, each whole or not at all."""
    pos = len(MAGIC) + _NEXT_SEGMENT.size
    view = memoryview(data)
    pairs: list[tuple[str, str]] = []
    while pos < len(data):
        keys, series, samples, pos = columns.decode(view, pos, pairs, storage.canonical)
        kept_keys, kept = [], []
        for key, state in zip(keys, series, strict=True):
            if state.floor < mint_ms:
                samples -= _trim(state, mint_ms)
            if state.times:
                kept_keys.append(key)
                kept.append(state)
        counted[0] += bulk.restore(storage, kept_keys, kept, samples)


def _trim(state: stored_series.Series, mint_ms: int) -> int:
    """Hide the samples older than ``mint_ms``; how many were freed."""
    oldest = state.bounds[0] if state.bounds else state.times[0]
    if oldest < mint_ms:
        return state.drop_before(mint_ms)
    state.floor = mint_ms  # nothing to drop: only the floor moves, as ``drop_before`` does
    return 0


def _restore_records(storage: MemoryStorage, data: bytes, mint_ms: int, counted: list[int]) -> int:
    """Restore a snapshot of an earlier layout (a record per series); the next segment."""
    next_segment = 0
    if data.startswith(_OLD_MAGIC):
        series = _old_series(data)
    else:
        next_segment = _check_magic(data, _V2_MAGIC)
        series = _series(data)
    log.info("Sample snapshot of an earlier format; the next snapshot is written in the new one")
    with collections_paused():
        storage.restore_many(_kept(series, mint_ms, counted))
    return next_segment


def _kept(
    series: Iterator[tuple[Labels, stored_series.Series]], mint_ms: int, counted: list[int]
) -> Iterator[tuple[Labels, stored_series.Series]]:
    """The series with samples newer than ``mint_ms``, counted in ``counted[0]``."""
    for key, state in series:
        if state.floor < mint_ms:
            state.drop_before(mint_ms)
        if state.times:
            counted[0] += 1
            yield key, state


def _check_magic(data: bytes, magic: bytes = MAGIC) -> int:
    if not data.startswith(magic) or len(data) < len(magic) + _NEXT_SEGMENT.size:
        msg = "not an aiwatch sample snapshot"
        raise ValueError(msg)
    next_segment: int = _NEXT_SEGMENT.unpack_from(data, len(magic))[0]
    return next_segment


def set_next_segment(parts: list[bytes], next_segment: int) -> None:
    """Write into ``parts`` (from ``encode_steps``) the first log segment not in them."""
    parts[:2] = [MAGIC, _NEXT_SEGMENT.pack(next_segment)]


def _series(data: bytes) -> Iterator[tuple[Labels, stored_series.Series]]:
    pos = len(MAGIC) + _NEXT_SEGMENT.size
    view = memoryview(data)
    pairs: list[tuple[str, str]] = []
    while pos < len(data):
        if pos + _HEADER.size > len(data):
            msg = "snapshot truncated in a series header"
            raise ValueError(msg)
        new_len, n_pairs, state_len = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        end = pos + new_len + 4 * n_pairs + state_len
        if end > len(data):
            msg = "snapshot truncated in a series"
            raise ValueError(msg)
        if new_len:
            pairs += _labels(data[pos : pos + new_len])
            pos += new_len
        indices = array("I")
        indices.frombytes(view[pos : pos + 4 * n_pairs])
        pos += 4 * n_pairs
        try:
            key = tuple(map(pairs.__getitem__, indices))
        except IndexError:
            msg = "snapshot names a label pair it does not hold"
            raise ValueError(msg) from None
        yield key, stored_series.from_bytes(view[pos:end], 0)
        pos = end


def _labels(raw: bytes) -> Labels:
    return tuple((str(k), str(v)) for k, v in json.loads(raw))


def _old_series(data: bytes) -> Iterator[tuple[Labels, stored_series.Series]]:
    pos = len(_OLD_MAGIC)
    while pos < len(data):
        if pos + _OLD_HEADER.size > len(data):
            msg = "snapshot truncated in a series header"
            raise ValueError(msg)
        label_len, count = _OLD_HEADER.unpack_from(data, pos)
        pos += _OLD_HEADER.size
        end = pos + label_len + 16 * count
        if end > len(data):
            msg = "snapshot truncated in a series"
            raise ValueError(msg)
        key = tuple(sorted(_labels(data[pos : pos + label_len])))
        pos += label_len
        times, values = array("q"), array("d")
        times.frombytes(data[pos : pos + 8 * count])
        pos += 8 * count
        values.frombytes(data[pos : pos + 8 * count])
        pos += 8 * count
        scratch = MemoryStorage()
        for t_ms, value in zip(times, values, strict=True):
            scratch.append_key(key, t_ms, value)
        yield from scratch.saved()
