"""Local samples kept across restarts, as a Prometheus TSDB keeps them, so rules see history."""

from __future__ import annotations

import json
import logging
import os
import struct
from array import array
from collections.abc import Iterator

from aiwatch.promql.storage import MemoryStorage

log = logging.getLogger("aiwatch.snapshot")

MAGIC = b"AIWSNAP1"
_HEADER = struct.Struct("<II")  # length of the labels JSON, number of samples
_JSON = json.JSONEncoder(separators=(",", ":"))


def encode(storage: MemoryStorage, *, mint_ms: int, maxt_ms: int) -> bytes:
    """Every series' samples in ``[mint_ms, maxt_ms]`` as one byte string."""
    parts = [MAGIC]
    for _ in encode_steps(storage, parts, mint_ms=mint_ms, maxt_ms=maxt_ms, pause_every=0):
        pass
    return b"".join(parts)


def encode_steps(
    storage: MemoryStorage, parts: list[bytes], *, mint_ms: int, maxt_ms: int, pause_every: int
) -> Iterator[None]:
    """``encode`` into ``parts`` (after ``MAGIC``), yielding every ``pause_every`` series.

    A caller on the event loop ``await``s at each yield, so a big store does not stall it.
    """
    since_pause = 0
    for labels, times, values in storage.dump(mint_ms, maxt_ms):
        label_bytes = _JSON.encode(labels).encode()
        parts.append(_HEADER.pack(len(label_bytes), len(times)))
        parts.append(label_bytes)
        parts.append(array("q", times).tobytes())
        parts.append(array("d", values).tobytes())
        since_pause += 1
        if since_pause == pause_every:
            since_pause = 0
            yield


def decode(data: bytes) -> Iterator[tuple[dict[str, str], array[int], array[float]]]:
    """The series of an ``encode``d snapshot; ``ValueError`` if it is damaged."""
    if not data.startswith(MAGIC):
        msg = "not an aiwatch sample snapshot"
        raise ValueError(msg)
    pos = len(MAGIC)
    while pos < len(data):
        if pos + _HEADER.size > len(data):
            msg = "snapshot truncated in a series header"
            raise ValueError(msg)
        label_len, count = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        end = pos + label_len + 16 * count
        if end > len(data):
            msg = "snapshot truncated in a series"
            raise ValueError(msg)
        labels = dict(json.loads(data[pos : pos + label_len]))
        pos += label_len
        times, values = array("q"), array("d")
        times.frombytes(data[pos : pos + 8 * count])
        pos += 8 * count
        values.frombytes(data[pos : pos + 8 * count])
        pos += 8 * count
        yield labels, times, values


def save(storage: MemoryStorage, path: str, *, mint_ms: int, maxt_ms: int) -> int:
    """Write the snapshot atomically (temp file, then rename); returns its size in bytes."""
    data = encode(storage, mint_ms=mint_ms, maxt_ms=maxt_ms)
    write_atomically(path, data)
    return len(data)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file whole."""
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(storage: MemoryStorage, path: str, *, mint_ms: int) -> int:
    """Append a saved snapshot's samples newer than ``mint_ms``; how many series came back.

    A missing file is a fresh start; a damaged one is logged and ignored, since losing recent
    history only delays alerts, while refusing to start would stop them altogether.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return 0
    except OSError as err:
        log.warning(
            "Cannot read the sample snapshot; starting without history",
            extra={"file": path, "err": err.strerror},
        )
        return 0
    restored = 0
    try:
        for labels, times, values in decode(data):
            kept = False
            for t_ms, value in zip(times, values, strict=True):
                if t_ms >= mint_ms:
                    storage.append(labels, t_ms, value)
                    kept = True
            restored += kept
    except (ValueError, TypeError) as err:
        log.warning(
            "Damaged sample snapshot; starting with what was read",
            extra={"file": path, "err": str(err), "series": restored},
        )
    return restored
