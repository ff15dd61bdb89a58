"""Full closed chunks live in files, not in memory; windows read them back unchanged."""

import errno
import logging
import math
import os
import random
from pathlib import Path

import pytest

from aiwatch import snapshot
from aiwatch.promql import series as series_module
from aiwatch.promql import spill as spill_module
from aiwatch.promql.chunks import CHUNK
from aiwatch.promql.forking import AVAILABLE, Forker
from aiwatch.promql.spill import Spill
from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, is_stale

UP = [LabelMatcher("__name__", "=", "up")]


def _fill(
    storage: MemoryStorage, n: int, series: int = 3, first: int = 0
) -> dict[str, list[tuple[int, float]]]:
    """``n`` samples (steps ``first`` on) for each of ``series`` series (gauges, NaN and
    stale markers among them, irregular times); what was appended, by target."""
    appended: dict[str, list[tuple[int, float]]] = {}
    for step in range(first, first + n):
        t_ms = 1_700_000_000_000 + step * 15_000 + (step * 7919) % 500
        for i in range(series):
            value = (step * (i + 1)) % 23 / 7
            if step % 97 == 5:
                value = STALE_NAN
            elif step % 89 == 3:
                value = math.nan
            storage.append({"__name__": "up", "target": f"t{i}"}, t_ms, value)
            appended.setdefault(f"t{i}", []).append((t_ms, value))
    return appended


def _same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> bool:
    def key(sample: tuple[int, float]) -> tuple[int, str]:
        t, v = sample
        return t, "stale" if is_stale(v) else repr(v)

    return list(map(key, got)) == list(map(key, want))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_full_chunks_leave_memory_and_every_window_reads_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After 2,000 samples a series keeps only its newest small chunks in memory; the rest is
    in a file in the storage folder, and windows of any span return exactly what was
    appended, stale markers and NaN included."""
    monkeypatch.setattr(spill_module, "BUFFER", 1024)
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    appended = _fill(storage, 2000)
    on_disk, in_memory = storage.spill.sizes()
    assert on_disk > 0
    assert in_memory < 1024
    for _, series in storage.saved():
        assert len(series.data) < 1024  # at most a few small chunks of 32 samples
        assert sum(series.bounds[2::4]) > 1800
        assert series.bounds[3] < 0  # the oldest chunk is in the file
    assert os.listdir(tmp_path) == []  # unnamed: nothing to clean up after a crash
    first, last = appended["t0"][0][0], appended["t0"][-1][0]
    for mint, maxt in [
        (first, last),
        (first + 3_000_000, first + 9_000_000),
        (last - 60_000, last),
    ]:
        got = storage.select(UP, mint, maxt)
        assert len(got) == 3
        for key, times, values in got:
            want = [(t, v) for t, v in appended[dict(key)["target"]] if mint <= t <= maxt]
            assert _same(list(zip(times, values, strict=True)), want)


def test_files_wholly_past_the_retention_are_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With small files, the retention closes the old ones (their descriptors too) and the
    windows after the cut are unchanged."""
    monkeypatch.setattr(spill_module, "SEGMENT", 4096)
    monkeypatch.setattr(spill_module, "BUFFER", 1024)
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    fds = _fds()
    appended = _fill(storage, 3000)
    opened = _fds() - fds
    assert opened > 3
    cut = appended["t0"][2000][0]
    storage.drop_before(cut)
    assert _fds() - fds < opened / 2
    for key, times, values in storage.select(UP, 0, 2**62):
        want = [(t, v) for t, v in appended[dict(key)["target"]] if t >= cut]
        assert _same(list(zip(times, values, strict=True)), want)
    storage.spill.close()
    assert _fds() == fds


def test_a_disk_that_refuses_writes_keeps_the_chunks_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk loses nothing: the chunks stay in memory, one warning says so, and once
    writes succeed again the next file is used (and an info line says so)."""
    monkeypatch.setattr(spill_module, "SEGMENT", 8192)
    monkeypatch.setattr(spill_module, "BUFFER", 1024)
    full = True
    pwrite = os.pwrite

    def refusing(fd: int, data: bytes, offset: int) -> int:
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return pwrite(fd, data, offset)

    monkeypatch.setattr(spill_module.os, "pwrite", refusing)
    caplog.set_level(logging.INFO, "aiwatch.storage")
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    appended = _fill(storage, 1500)
    assert storage.spill.sizes()[0] == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "Cannot write closed chunks to disk; keeping them in memory"
    ]
    assert "No space left" in warnings[0].err  # type: ignore[attr-defined]
    full = False
    more = _fill(storage, 3000, first=1500)
    assert storage.spill.sizes()[0] > 0
    assert "Closed chunks are written to disk again" in caplog.text
    for key, times, values in storage.select(UP, 0, 2**62):
        target = dict(key)["target"]
        want = appended[target] + more[target]
        assert _same(list(zip(times, values, strict=True)), want)


def test_a_folder_that_cannot_hold_files_keeps_them_in_memory(tmp_path: Path) -> None:
    """A storage folder that does not exist (or cannot be written) is not an error either."""
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path / "missing"))
    appended = _fill(storage, 600, series=1)
    assert storage.spill.sizes()[0] == 0
    assert storage.spill.sizes()[1] > 0
    ((_, times, values),) = storage.select(UP, 0, 2**62)
    assert _same(list(zip(times, values, strict=True)), appended["t0"])


def test_references_round_trip_across_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk comes back byte for byte from whichever file holds it, buffered or written;
    a released file's chunks are gone (``KeyError``), the others are not."""
    monkeypatch.setattr(spill_module, "SEGMENT", 3000)
    monkeypatch.setattr(spill_module, "BUFFER", 700)
    spill = Spill(str(tmp_path))
    chunks = [bytes([i % 251]) * (50 + i * 13 % 400) for i in range(200)]
    refs = [spill.put(c, newest_ms=i) for i, c in enumerate(chunks)]
    assert [spill.get(r) for r in refs] == chunks
    assert spill.get_many(refs) == chunks
    assert spill.get_many(refs[::-7]) == chunks[::-7]
    assert spill.release_before(100) > 0
    with pytest.raises(KeyError):
        spill.get(refs[0])
    with pytest.raises(KeyError):
        spill.get_many([refs[-1], refs[0]])
    assert spill.get(refs[-1]) == chunks[-1]
    assert spill.get_many(refs[150:]) == chunks[150:]
    with pytest.raises(ValueError, match="too large"):
        spill.put(b"x" * (spill_module.MAX_CHUNK + 1), newest_ms=0)
    spill.close()


@pytest.mark.skipif(not AVAILABLE, reason="needs os.fork")
async def test_a_forked_child_reads_the_chunks_in_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule child reads the chunks through the descriptors it inherits: its windows equal
    the parent's."""
    monkeypatch.setattr(spill_module, "BUFFER", 1024)
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    _fill(storage, 3000)
    assert storage.spill.sizes()[0] > 0  # more than one buffer: read from the file

    def windows() -> list[object]:
        return [
            (key, list(times), [repr(v) for v in values])
            for key, times, values in storage.select(UP, 0, 2**62)
        ]

    forker = Forker()
    (child,) = [item async for item in forker.stream(lambda: [windows()], step_timeout_s=30)]
    assert child == windows()
    assert sum(len(t) for _, t, _ in child) == 3 * 3000  # type: ignore[misc]


def test_chunk_is_full_size() -> None:
    """The spill takes merged chunks of ``CHUNK`` samples: a series of 10 × CHUNK samples
    has about nine of them out of memory."""
    storage = MemoryStorage()
    for i in range(10 * CHUNK):
        storage.append({"__name__": "up"}, i * 1000, float(i))
    ((_, series),) = list(storage.saved())
    spilled = [
        series.bounds[4 * i + 2]
        for i in range(len(series.bounds) // 4)
        if series.bounds[4 * i + 3] < 0
    ]
    assert len(spilled) >= 8
    assert all(n >= CHUNK for n in spilled)
    storage.spill.close()


def test_chunks_too_large_for_the_spill_stay_in_memory_between_spilled_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full chunk too large for a reference stays in memory, between chunks in files:
    windows, the retention and a snapshot round trip still give exactly what was appended."""
    monkeypatch.setattr(series_module, "MAX_CHUNK", 300)
    rng = random.Random(3)
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    appended = []
    for step in range(2000):
        # Blocks of random floats (chunks of about 1 KB) between constant ones (a few bytes).
        value = rng.random() if (step // 200) % 2 else 1.0
        t_ms = step * 15_000 + step % 3
        storage.append({"__name__": "up"}, t_ms, value)
        appended.append((t_ms, value))
    ((_, series),) = list(storage.saved())
    places = list(series.bounds[3::4])
    kinds = "".join("f" if p < 0 else "m" for p in places)
    assert "fm" in kinds
    assert "mf" in kinds  # a chunk in a file after one in memory
    ((_, times, values),) = storage.select(UP, 0, 2**62)
    assert _same(list(zip(times, values, strict=True)), appended)
    data = snapshot.encode(storage)
    for cut in (appended[700][0], appended[1300][0]):
        storage.drop_before(cut)
        ((_, times, values),) = storage.select(UP, 0, 2**62)
        assert _same(list(zip(times, values, strict=True)), [s for s in appended if s[0] >= cut])
        assert storage.sample_count() == len([s for s in appended if s[0] >= cut])
    path = tmp_path / "samples.snapshot"
    path.write_bytes(data)
    restored = MemoryStorage()
    assert snapshot.load(restored, str(path), mint_ms=0) == 1
    ((_, times, values),) = restored.select(UP, 0, 2**62)
    assert _same(list(zip(times, values, strict=True)), appended)


def test_a_short_write_splits_no_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write the disk cuts short (it filled up half-way) leaves the rest of the bytes in
    memory; a chunk split between the file and memory reads back whole."""
    monkeypatch.setattr(spill_module, "BUFFER", 1000)
    pwrite = os.pwrite
    calls = 0

    def halving(fd: int, data: bytes, offset: int) -> int:
        nonlocal calls
        calls += 1
        return pwrite(fd, bytes(data)[: len(data) // 2 + 7] if calls % 2 else data, offset)

    monkeypatch.setattr(spill_module.os, "pwrite", halving)
    spill = Spill(str(tmp_path))
    chunks = [bytes([i % 251]) * (90 + i % 37) for i in range(300)]
    refs: list[int] = []
    split = 0
    for i, chunk in enumerate(chunks):
        refs.append(spill.put(chunk, newest_ms=i))
        on_disk, in_memory = spill.sizes()
        split += in_memory > 0 and any(
            (r >> 20) < on_disk < (r >> 20) + (r & 0xFFFFF) for r in refs
        )
        assert [spill.get(r) for r in refs] == chunks[: i + 1]
    assert split > 0  # some chunk was read back while split between the file and memory
    assert spill.get_many(refs) == chunks
    spill.close()


def test_the_store_metrics_say_where_the_chunks_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``aiwatch_local_store_series`` counts the series; ``aiwatch_local_store_chunk_bytes``
    the bytes in files and in memory, the memory growing while the disk refuses writes."""
    from prometheus_client import CollectorRegistry, generate_latest

    from aiwatch.selfscrape import StoreCollector

    monkeypatch.setattr(spill_module, "BUFFER", 1024)
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    registry = CollectorRegistry()
    registry.register(StoreCollector(storage))

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("aiwatch_local_store_series") == 0
    _fill(storage, 2000)
    assert sample("aiwatch_local_store_series") == 3
    in_files, in_memory = storage.spill.sizes()
    assert in_files > 0
    assert sample("aiwatch_local_store_chunk_bytes", where="file") == in_files
    assert sample("aiwatch_local_store_chunk_bytes", where="memory") == in_memory < 1024
    monkeypatch.setattr(spill_module, "SEGMENT", 2**40)  # stay in the file that now fails

    def refusing(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill_module.os, "pwrite", refusing)
    _fill(storage, 2000, first=2000)
    assert sample("aiwatch_local_store_chunk_bytes", where="file") == in_files
    assert sample("aiwatch_local_store_chunk_bytes", where="memory") > 1024  # type: ignore[operator]
    assert b"# TYPE aiwatch_local_store_chunk_bytes gauge" in generate_latest(registry)
