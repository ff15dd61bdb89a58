"""Local samples kept across restarts, as a Prometheus TSDB keeps them, so rules see history.

A snapshot holds every series as the store keeps it (its encoded chunks, head and reset
notes, see ``promql.series``) and the number of the first write-ahead log segment that is
not in it; samples stored later are replayed from the log (``wal``).
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
from aiwatch.promql import series as stored_series
from aiwatch.promql.storage import Labels, MemoryStorage

log = logging.getLogger("aiwatch.snapshot")

MAGIC = b"AIWSNAP2"
_OLD_MAGIC = b"AIWSNAP1"  # samples as plain arrays, written by earlier versions
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
    """``encode`` into ``parts`` (after ``MAGIC`` and the next segment's number), yielding
    every ``pause_every`` series: a caller on the event loop ``await``s at each yield."""
    since_pause = 0
    # Label pairs are numbered in order of first use and each series lists its pairs' numbers,
    # so the file is small and loading shares one copy of each pair between series.
    numbers: dict[tuple[str, str], int] = {}
    for key, series in storage.saved():
        new = [pair for pair in key if pair not in numbers]
        for pair in new:
            numbers[pair] = len(numbers)
        new_bytes = _JSON.encode(new).encode() if new else b""
        state = stored_series.to_bytes(series)
        indices = array("I", map(numbers.__getitem__, key)).tobytes()
        parts += (_HEADER.pack(len(new_bytes), len(key), len(state)), new_bytes, indices, state)
        since_pause += 1
        if since_pause == pause_every:
            since_pause = 0
            yield


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
    restored = 0
    counted = [0]
    next_segment = 0
    try:
        if data.startswith(_OLD_MAGIC):
            series = _old_series(data)
        else:
            next_segment = _check_magic(data)
            series = _series(data)
        with collections_paused():
            restored = storage.restore_many(_kept(series, mint_ms, counted))
    except (ValueError, TypeError) as err:
        restored = counted[0]
        log.warning(
            "Damaged sample snapshot; starting with what was read",
            extra={"file": path, "err": str(err), "series": restored},
        )
    return Restored(restored, next_segment)


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


def _check_magic(data: bytes) -> int:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _NEXT_SEGMENT.size:
        msg = "not an aiwatch sample snapshot"
        raise ValueError(msg)
    next_segment: int = _NEXT_SEGMENT.unpack_from(data, len(MAGIC))[0]
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
