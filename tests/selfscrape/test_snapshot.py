"""Local samples survive a restart through the snapshot file, bit for bit."""

import math
from pathlib import Path

from aiwatch import snapshot
from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, is_stale

ALL = [LabelMatcher("__name__", "=~", ".+")]


def stored(storage: MemoryStorage) -> list[tuple[object, list[int], list[float]]]:
    return [(k, list(t), list(v)) for k, t, v in storage.select(ALL, 0, 10**15)]


def test_round_trip_keeps_values_and_stale_markers(tmp_path: Path) -> None:
    """Saved then loaded samples are identical, stale markers and NaN included."""
    storage = MemoryStorage()
    storage.append({"__name__": "a", "x": "1"}, 1_000, 1.5)
    storage.append({"__name__": "a", "x": "1"}, 2_000, STALE_NAN)
    storage.append({"__name__": "b"}, 1_000, math.nan)
    path = str(tmp_path / "s.snap")
    snapshot.save(storage, path, mint_ms=0, maxt_ms=10_000)
    restored = MemoryStorage()
    assert snapshot.load(restored, path, mint_ms=0) == 2
    (a_key, a_times, a_values), (_, _, b_values) = stored(restored)
    assert dict(a_key) == {"__name__": "a", "x": "1"}
    assert a_times == [1_000, 2_000]
    assert a_values[0] == 1.5
    assert is_stale(a_values[1])
    assert math.isnan(b_values[0])
    assert not is_stale(b_values[0])


def test_load_skips_samples_past_retention(tmp_path: Path) -> None:
    """Only samples newer than ``mint_ms`` come back; empty series are not recreated."""
    storage = MemoryStorage()
    storage.append({"__name__": "old"}, 1_000, 1.0)
    storage.append({"__name__": "new"}, 1_000, 1.0)
    storage.append({"__name__": "new"}, 9_000, 2.0)
    path = str(tmp_path / "s.snap")
    snapshot.save(storage, path, mint_ms=0, maxt_ms=10_000)
    restored = MemoryStorage()
    assert snapshot.load(restored, path, mint_ms=5_000) == 1
    assert [(dict(k)["__name__"], t) for k, t, _ in stored(restored)] == [("new", [9_000])]


def test_damaged_or_missing_snapshot_is_not_fatal(tmp_path: Path) -> None:
    """A missing file restores nothing; a truncated one restores the whole blocks before it
    (written here a series to a block, as a writer pausing after every series would)."""
    storage = MemoryStorage()
    assert snapshot.load(storage, str(tmp_path / "none"), mint_ms=0) == 0
    source = MemoryStorage()
    source.append({"__name__": "a"}, 1_000, 1.0)
    source.append({"__name__": "b"}, 1_000, 2.0)
    parts: list[bytes] = []
    snapshot.set_next_segment(parts, 0)
    for _ in snapshot.encode_steps(source, parts, pause_every=1):
        pass
    data = b"".join(parts)
    path = tmp_path / "cut.snap"
    path.write_bytes(data[:-3])
    assert snapshot.load(storage, str(path), mint_ms=0) == 1
    assert [dict(k)["__name__"] for k, _, _ in stored(storage)] == ["a"]
    (tmp_path / "junk.snap").write_bytes(b"hello")
    assert snapshot.load(MemoryStorage(), str(tmp_path / "junk.snap"), mint_ms=0) == 0
