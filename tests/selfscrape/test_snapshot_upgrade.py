"""Files written by earlier versions (snapshots, log records) still load."""

import json
import logging
import random
import struct
import zlib
from array import array
from operator import sub
from pathlib import Path

import pytest

from aiwatch import snapshot, wal
from aiwatch.persistence import SampleFiles
from aiwatch.promql.columns import in_memory
from aiwatch.promql.series import Series
from aiwatch.promql.spill import Spill
from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, is_stale
from tests.selfscrape.stores import scrape, windows


def test_snapshot_of_plain_arrays_loads(tmp_path: Path) -> None:
    """The ``AIWSNAP1`` layout (labels JSON, then times and values as arrays) comes back into
    the chunked store, stale marker included, and retention still applies."""
    labels = json.dumps([["__name__", "up"], ["job", "aiwatch"]]).encode()
    times = array("q", range(0, 200 * 15_000, 15_000))
    values = array("d", [1.0] * 199 + [STALE_NAN])
    data = b"AIWSNAP1" + struct.pack("<II", len(labels), len(times)) + labels
    data += times.tobytes() + values.tobytes()
    path = tmp_path / "samples.snapshot"
    path.write_bytes(data)
    storage = MemoryStorage()
    assert snapshot.load(storage, str(path), mint_ms=15_000) == 1
    [(key, got_times, got_values)] = storage.select([LabelMatcher("__name__", "=", "up")], 0, 10**9)
    assert dict(key) == {"__name__": "up", "job": "aiwatch"}
    assert list(got_times) == list(times[1:])
    assert list(got_values[:-1]) == [1.0] * 198
    assert is_stale(got_values[-1])
    assert storage.sample_count() == 199


def _v2_state(series: Series, spill: Spill) -> bytes:
    """A series' record in the ``AIWSNAP2`` layout, as the earlier version wrote it (every
    chunk in memory: those in ``spill`` read back)."""
    drops, drop_prev = series.drops, series.drop_prev
    keeps = drops is not None and drop_prev is not None
    bounds, data = in_memory(series, spill)
    ends = bounds[3::4]
    head = struct.pack(
        "<qdBIII",
        series.floor,
        series.last,
        series.nan | series.exact << 1 | keeps << 2,
        len(bounds) // 4,
        len(series.times),
        len(drops) if drops is not None and keeps else 0,
    )
    triples = array("q", (bounds[j] for i in range(0, len(bounds), 4) for j in (i, i + 1, i + 2)))
    lengths = array("I", map(sub, ends, [0, *ends[:-1]]))
    parts = [head, triples.tobytes(), lengths.tobytes(), data]
    parts += [series.times.tobytes(), array("d", series.values).tobytes()]  # held as doubles then
    if drops is not None and drop_prev is not None:
        parts += [drops.tobytes(), drop_prev.tobytes()]
    return b"".join(parts)


def _v2_snapshot(storage: MemoryStorage, next_segment: int) -> bytes:
    """The ``AIWSNAP2`` layout: a record per series, new label pairs as JSON."""
    parts = [b"AIWSNAP2", struct.pack("<Q", next_segment)]
    numbers: dict[tuple[str, str], int] = {}
    for key, series in storage.saved():
        new = [pair for pair in key if pair not in numbers]
        for pair in new:
            numbers[pair] = len(numbers)
        new_bytes = json.dumps(new, separators=(",", ":")).encode() if new else b""
        state = _v2_state(series, storage.spill)
        parts += [struct.pack("<III", len(new_bytes), len(key), len(state)), new_bytes]
        parts += [array("I", map(numbers.__getitem__, key)).tobytes(), state]
    return b"".join(parts)


def _v1_record(run: int, batch: wal.Batch) -> bytes:
    """A log record of the earlier layout: each named series' labels as JSON."""
    parts = [struct.pack("<QII", run, len(batch.named), len(batch.refs))]
    for ref, key in batch.named:
        labels = json.dumps(key, separators=(",", ":")).encode()
        parts += [struct.pack("<II", ref, len(labels)), labels]
    parts += [batch.refs.tobytes(), batch.times.tobytes(), batch.values.tobytes()]
    body = zlib.compress(b"".join(parts), 1)
    return struct.pack("<II", len(body), zlib.crc32(body)) + body


async def test_files_of_the_previous_layout_load_and_are_converted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An ``AIWSNAP2`` snapshot and log records with JSON labels (the previous version's
    files) recover into the same windows as the store that wrote them, with one log line;
    the next snapshot is written in the current layout and recovers the same again."""
    rng = random.Random(5)
    storage = MemoryStorage()
    for step in range(200):
        scrape(storage, step, rng, count=6)
    (tmp_path / "samples.snapshot").write_bytes(_v2_snapshot(storage, next_segment=1))
    log = wal.WriteAheadLog(str(tmp_path / "wal"))
    storage.log = log
    (tmp_path / "wal").mkdir()
    records = []
    for step in range(200, 212):
        scrape(storage, step, rng, count=6)
        records.append(_v1_record(log.run, log.take()))
    (tmp_path / "wal" / "00000001").write_bytes(b"".join(records))
    caplog.set_level(logging.INFO)
    again = MemoryStorage()
    files = SampleFiles(again, str(tmp_path))
    recovered = files.recover(mint_ms=0)
    assert recovered.replayed == 12 * 4 * 6 + 2 * 2  # two replaced samples in the log
    assert windows(again, 0, 10**15) == windows(storage, 0, 10**15)
    notes = [r.getMessage() for r in caplog.records if r.name == "aiwatch.snapshot"]
    assert notes == [
        "Sample snapshot of an earlier format; the next snapshot is written in the new one"
    ]
    await files.checkpoint()
    assert (tmp_path / "samples.snapshot").read_bytes().startswith(snapshot.MAGIC)
    third = MemoryStorage()
    SampleFiles(third, str(tmp_path)).recover(mint_ms=0)
    assert windows(third, 0, 10**15) == windows(storage, 0, 10**15)
