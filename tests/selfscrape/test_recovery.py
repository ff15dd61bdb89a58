"""Recovery from the snapshot and the log gives back the store it was taken from: every
window, the reset notes ``rate`` reads, and what later appends do, sample for sample."""

import logging
import random
from pathlib import Path

import pytest

from aiwatch import snapshot, wal
from aiwatch.persistence import SampleFiles
from aiwatch.promql.storage import STALE_NAN, MemoryStorage
from tests.selfscrape.stores import STEP, bits, labels, scrape, windows


async def test_windows_after_recovery_equal_the_store_sample_for_sample(tmp_path: Path) -> None:
    """A store of 330 steps (closed chunks, heads, a checkpoint, then log records only) is
    recovered after a crash: every window, every counter's values before its resets, and the
    windows after both stores take the same further samples are identical; recovered with a
    retention, it holds the same windows and sample count as the store trimmed to it."""
    rng = random.Random(7)
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    for step in range(330):
        scrape(storage, step, rng, count=12)
        await files.flush()
        if step in (150, 290):  # the log then starts with a counter reset (step 291)
            await files.checkpoint()
    again = MemoryStorage()
    recovered = SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    assert recovered.series == storage.series_count() - 3  # the "late" ones are only in the log
    assert recovered.replayed > 12 * 4 * 10
    end = 1_700_000_000_000 + 330 * STEP
    for mint, maxt in ((0, end), (end - 3_600_000, end), (end - 300_000, end - 60_000)):
        assert windows(again, mint, maxt) == windows(storage, mint, maxt)
    assert again.sample_count() == storage.sample_count()
    for series in (storage, again):
        state = {k: (s.exact, s.nan, repr(s.last)) for k, s in series.saved()}
        assert state == {k: (s.exact, s.nan, repr(s.last)) for k, s in storage.saved()}
    cut = end - 2_000_000  # a retention that ends inside closed chunks
    trimmed = MemoryStorage()
    SampleFiles(trimmed, str(tmp_path)).recover(mint_ms=cut)
    assert windows(trimmed, 0, end) == windows(storage, cut, end)
    rng_a, rng_b = random.Random(8), random.Random(8)
    for step in range(330, 400):
        scrape(storage, step, rng_a, count=12)
        scrape(again, step, rng_b, count=12)
    end = 1_700_000_000_000 + 400 * STEP
    assert windows(again, 0, end) == windows(storage, 0, end)
    storage.drop_before(cut)
    assert trimmed.sample_count() == sum(len(t) for _, t, _ in storage.dump(cut, end - 70 * STEP))


async def test_snapshot_written_mid_segment_overlaps_the_log(tmp_path: Path) -> None:
    """Samples stored while a snapshot was taken are in both the snapshot and the next log
    segment (and one is replaced there): replaying them changes nothing but the replacement."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    files.recover(mint_ms=0)
    rng = random.Random(3)
    for step in range(100):
        scrape(storage, step, rng, count=3)
        await files.flush()
    await files.checkpoint()
    # As if these were stored while the snapshot was being written: in the new segment too.
    for key, series in list(storage.saved())[:5]:
        files.wal.add(series, key, series.times[-1], series.values[-1])
    key, series = next(iter(storage.saved()))
    storage.append(dict(key), series.times[-1], 1234.5)
    await files.flush()
    again = MemoryStorage()
    SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    assert windows(again, 0, 10**15) == windows(storage, 0, 10**15)


def test_a_damaged_block_keeps_the_blocks_before_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A flipped byte in the second block of a snapshot is caught by its checksum: the first
    block's series come back, the rest not, and the damage is logged once."""
    source = MemoryStorage()
    for i in range(5):
        source.append({"__name__": "m", "i": str(i)}, 1_000, float(i))
    parts: list[bytes] = []
    snapshot.set_next_segment(parts, 4)
    for _ in snapshot.encode_steps(source, parts, pause_every=3):
        pass
    data = bytearray(b"".join(parts))
    data[-10] ^= 0x40
    path = tmp_path / "samples.snapshot"
    path.write_bytes(bytes(data))
    caplog.set_level(logging.WARNING)
    restored = snapshot.restore(MemoryStorage(), str(path), mint_ms=0)
    assert (restored.series, restored.next_segment) == (3, 4)
    assert [r.getMessage() for r in caplog.records] == [
        "Damaged sample snapshot; starting with what was read"
    ]


def test_log_record_labels_round_trip() -> None:
    """A log record keeps its series' labels (shared pairs, non-ASCII text, a lone surrogate)
    and its samples bit for bit."""
    storage = MemoryStorage()
    log = wal.WriteAheadLog("unused")
    storage.log = log
    storage.append(labels("a", 1), 1, 1.0)
    storage.append(labels("b", 1), 1, STALE_NAN)
    storage.append({"__name__": "c", "x": ""}, 2, -0.0)
    [(run, batch)] = list(wal.records(wal.encode(log.run, log.take())))
    assert run == log.run
    assert [dict(k) for _, k in batch.named] == [labels("a", 1), labels("b", 1), {"__name__": "c"}]
    assert list(batch.times) == [1, 1, 2]
    assert bits(batch.values) == bits([1.0, STALE_NAN, -0.0])
