"""The write-ahead log: what was stored since the snapshot comes back after a crash."""

import logging
import math
import os
from pathlib import Path

import pytest

from aiwatch import wal
from aiwatch.persistence import SampleFiles
from aiwatch.promql.chunks import CHUNK
from aiwatch.promql.series import HEAD
from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, is_stale

ALL = [LabelMatcher("__name__", "=~", ".+")]


def stored(storage: MemoryStorage) -> list[tuple[object, list[int], list[str]]]:
    """Every series with its times and values (as reprs, so NaNs compare)."""
    return [
        (k, list(t), [repr(v) + ("s" if is_stale(v) else "") for v in vs])
        for k, t, vs in storage.select(ALL, 0, 10**15)
    ]


def _scrape(storage: MemoryStorage, t_ms: int, n: int = 3) -> None:
    for i in range(n):
        storage.append({"__name__": "g", "i": str(i)}, t_ms, float(t_ms // 1000 + i))
    storage.append({"__name__": "c_total"}, t_ms, float(t_ms % 7))


async def test_snapshot_and_log_round_trip(tmp_path: Path) -> None:
    """Samples stored before and after a checkpoint, a replaced sample, a stale marker and
    a NaN come back after a crash (no shutdown) exactly as they were."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    for t in range(1_000, 200_000, 1_000):
        _scrape(storage, t)
        await files.flush()
        if t == 100_000:
            await files.checkpoint()
    storage.append({"__name__": "c_total"}, 199_000, 42.0)  # a re-evaluated rule
    storage.append({"__name__": "gone"}, 199_000, STALE_NAN)
    storage.append({"__name__": "nan"}, 199_000, math.nan)
    await files.flush()
    assert wal.segments(str(tmp_path / "wal")) == [2]  # segment 1 is in the snapshot
    again = MemoryStorage()
    recovered = SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    assert recovered.series == 4  # from the snapshot; two more are only in the log
    assert recovered.replayed > 0
    assert stored(again) == stored(storage)


def _cut(path: str, n: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) - n)


def _add(path: str, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


async def test_torn_last_record_is_ignored(tmp_path: Path) -> None:
    """A record cut short (a write killed half-way) and trailing garbage are skipped; the
    records before them come back, and later segments still replay."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    for t in (1_000, 2_000, 3_000):
        _scrape(storage, t)
        await files.flush()
    path = wal.segment_path(str(tmp_path / "wal"), 1)
    _cut(path, 5)
    again = MemoryStorage()
    SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    assert [list(t) for _, t, _ in again.select(ALL, 0, 10**9)] == [[1_000, 2_000]] * 4
    # The restarted store writes to a new segment after the torn one.
    files2 = SampleFiles(again, str(tmp_path))
    files2.recover(mint_ms=0)
    _scrape(again, 4_000)
    await files2.flush()
    _add(path, b"\x07garbage")
    third = MemoryStorage()
    SampleFiles(third, str(tmp_path)).recover(mint_ms=0)
    assert [list(t) for _, t, _ in third.select(ALL, 0, 10**9)] == [[1_000, 2_000, 4_000]] * 4


async def test_replay_keeps_only_the_retention(tmp_path: Path) -> None:
    """Samples older than the retention at start-up are not replayed."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    for t in (1_000, 2_000, 3_000):
        _scrape(storage, t, n=1)
        await files.flush()
    again = MemoryStorage()
    SampleFiles(again, str(tmp_path)).recover(mint_ms=2_500)
    assert [list(t) for _, t, _ in again.select(ALL, 0, 10**9)] == [[3_000], [3_000]]


async def test_disk_errors_are_logged_once_and_never_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A log directory that cannot be written is reported once, the store keeps working in
    memory, and the first write that succeeds again says so; what was written before and
    after comes back."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    _scrape(storage, 1_000)
    await files.flush()
    wal_dir, snapshot_path = files.wal.directory, files.snapshot_path
    files.wal.directory = str(tmp_path / "missing" / "wal")
    files.snapshot_path = str(tmp_path / "missing" / "samples.snapshot")
    (tmp_path / "missing").write_text("a file where a directory should be")
    caplog.set_level(logging.INFO)
    for t in (2_000, 3_000, 4_000):
        _scrape(storage, t)
        await files.flush()
        await files.checkpoint()
    assert files.problem is not None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.getMessage() for r in warnings) == [
        "Cannot save the sample snapshot",
        "Cannot write the sample log",
    ]
    assert len(stored(storage)) == 4
    files.wal.directory, files.snapshot_path = wal_dir, snapshot_path
    _scrape(storage, 5_000)
    await files.flush()
    assert files.problem is not None  # the snapshot still could not be saved
    await files.checkpoint()
    assert files.problem is None
    assert "Local samples are written to disk again" in caplog.text
    again = MemoryStorage()
    SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    assert [list(t) for _, t, _ in again.select(ALL, 0, 10**9)] == [
        [1_000, 2_000, 3_000, 4_000, 5_000]
    ] * 4


def test_records_stop_at_a_damaged_checksum() -> None:
    """A record whose bytes changed is not applied, nor anything after it."""
    storage = MemoryStorage()
    log = wal.WriteAheadLog("unused")
    storage.log = log
    storage.append({"__name__": "a"}, 1, 1.0)
    first = wal.encode(log.run, log.take())
    storage.append({"__name__": "a"}, 2, 2.0)
    second = wal.encode(log.run, log.take())
    damaged = bytearray(first + second)
    damaged[-3] ^= 0xFF
    assert [len(batch.refs) for _, batch in wal.records(bytes(damaged))] == [1]
    assert [len(batch.refs) for _, batch in wal.records(first + second)] == [1, 1]


async def test_a_long_log_replays_exactly_and_merges_later(tmp_path: Path) -> None:
    """A log holding hundreds of samples per series (snapshots failed for a while) comes
    back sample for sample: the replay seals the heads without merging their small chunks,
    and the next seals after start-up merge them, so windows stay equal to the store that
    was never stopped and the series keep few small chunks."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    for t in range(1_000, 60_000, 1_000):
        _scrape(storage, t)
        await files.flush()
    await files.checkpoint()
    for t in range(60_000, 700_000, 1_000):  # about 640 samples a series, only in the log
        _scrape(storage, t)
        await files.flush()
    again = MemoryStorage()
    recovered = SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    assert recovered.replayed == 4 * 640
    assert stored(again) == stored(storage)
    small = [sum(n < CHUNK for n in series.bounds[2::4]) for _, series in again.saved()]
    assert min(small) > CHUNK // HEAD  # left unmerged by the replay
    for t in range(700_000, 800_000, 1_000):
        _scrape(storage, t)
        _scrape(again, t)
    assert stored(again) == stored(storage)
    small = [sum(n < CHUNK for n in series.bounds[2::4]) for _, series in again.saved()]
    assert max(small) < CHUNK // HEAD
