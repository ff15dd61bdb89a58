"""Heads share what they can: the timestamps of one scrape, the small chunks of equal
histories, and values held in single precision where that is exact."""

import asyncio
import math
import random
import struct
import sys
from pathlib import Path

import pytest

from aiwatch.persistence import SampleFiles
from aiwatch.promql import shared
from aiwatch.promql import spill as spill_module
from aiwatch.promql.series import HEAD, narrowed
from aiwatch.promql.spill import Spill
from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, labels_of

T0 = 1_700_000_000_000


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _window(
    storage: MemoryStorage, name: str
) -> list[tuple[dict[str, str], list[int], list[bytes]]]:
    out = []
    for labels, times, values in storage.select([LabelMatcher("__name__", "=", name)], 0, 2**62):
        out.append((dict(labels), list(times), [_bits(v) for v in values]))
    return out


def test_the_series_of_one_scrape_hold_one_array_of_head_timestamps() -> None:
    """200 series stored at the same timestamps for 300 scrapes (their heads sealed at
    different moments) hold a few dozen timestamp arrays, not 200; a series that misses
    scrapes or gets its own timestamps changes no other series' timestamps."""
    storage = MemoryStorage()
    expected: dict[str, list[int]] = {}
    for step in range(300):
        t_ms = T0 + step * 15_000 + step % 7
        for i in range(200):
            if i == 7 and step % 5 == 0:
                continue  # missed a scrape
            when = t_ms + 1 if i == 9 else t_ms  # its own timestamps
            storage.append({"__name__": "up", "i": str(i)}, when, float(step))
            expected.setdefault(str(i), []).append(when)
    heads = {id(s.times) for s in storage._series.values()}
    assert len(heads) <= 50, len(heads)
    for labels, times, _ in _window(storage, "up"):
        assert times == expected[labels["i"]]


def test_head_timestamps_are_never_changed_in_place() -> None:
    """A series holding an array that others hold too gets a new one when it changes; the
    others keep theirs as they were. (Ten samples: no head is sealed yet.)"""
    storage = MemoryStorage()
    for step in range(10):
        for i in range(3):
            storage.append({"__name__": "up", "i": str(i)}, T0 + step * 1000, 1.0)
    held = [s.times for s in storage._series.values()]
    assert held[0] is held[1] is held[2]
    before = held[0].tolist()
    storage.append({"__name__": "up", "i": "0"}, T0 + 10 * 1000, 1.0)
    assert held[1].tolist() == before
    storage.drop_before(T0 + 5 * 1000)
    assert held[2].tolist() == before
    assert [len(t) for _, t, _ in _window(storage, "up")] == [6, 5, 5]


def test_single_precision_heads_keep_every_value_exact() -> None:
    """Counters and 0/1 gauges are held in single precision; any value that is not exactly
    a single-precision float (0.1, 1e300, a subnormal, NaN, the stale marker) widens its
    head, and windows return the very bits that were stored, replacements included."""
    storage = MemoryStorage()
    rng = random.Random(3)
    specials = [0.1, 1e300, -1e-45, 5e-324, math.nan, STALE_NAN, -0.0, math.inf, 2.0**24 + 1]
    stored: dict[str, list[bytes]] = {"counter": [], "mixed": []}
    for step in range(400):
        t_ms = T0 + step * 15_000
        storage.append({"__name__": "m", "s": "counter"}, t_ms, float(step))
        stored["counter"].append(_bits(float(step)))
        value = rng.choice(specials) if step % 37 == 0 else float(step % 3)
        storage.append({"__name__": "m", "s": "mixed"}, t_ms, value)
        if step % 50 == 49:  # the newest sample replaced (a re-evaluated recording rule)
            value = 1 / 3
            storage.append({"__name__": "m", "s": "mixed"}, t_ms, value)
        stored["mixed"].append(_bits(value))
    counter = storage._series[(("__name__", "m"), ("s", "counter"))]
    assert counter.values.typecode == "f"
    for labels, _, values in _window(storage, "m"):
        assert values == stored[labels["s"]], labels


def test_narrowed_only_when_exact() -> None:
    from array import array

    assert narrowed(array("d", [0.0, 1.0, 2.5, -3.0])).typecode == "f"
    for odd in (0.1, math.nan, 1e39, 2.0**24 + 1, 1e-46):
        assert narrowed(array("d", [1.0, odd])).typecode == "d", odd


def test_equal_histories_share_their_small_chunks() -> None:
    """Series with the same samples (a target's histogram buckets that did not move) and
    the same moments of sealing (one of ``HEAD``, spread by their labels) hold one string of
    small chunks: 200 series, at most ``HEAD`` strings."""
    storage = MemoryStorage()
    for step in range(120):
        for i in range(200):
            storage.append({"__name__": "b", "le": str(i)}, T0 + step * 15_000, 0.0)
    strings = {id(s.data) for s in storage._series.values() if s.data}
    assert 0 < len(strings) <= HEAD, len(strings)
    assert sys.getrefcount(next(iter(storage._series.values())).data) > 3


def test_shared_tables_stay_small() -> None:
    """The lookup tables keep only the latest few timestamps and a bounded number of
    arrays and strings."""
    storage = MemoryStorage()
    for step in range(50):
        for i in range(10):
            storage.append({"__name__": "x", "i": str(i)}, T0 + step * 1000, float(i * step))
    assert len(shared._steps) <= shared._STEPS_KEPT
    assert len(shared._made) <= 2 * shared._MADE_KEPT
    assert len(shared._chunks) <= 2 * shared._MADE_KEPT


def test_equal_series_share_full_chunks_and_bounds(tmp_path: Path) -> None:
    """400 samples of 200 equal series: each full chunk is written once per moment of
    sealing, the series' arrays of bounds are shared, and one series that then takes its own
    values changes nothing the others read."""
    storage = MemoryStorage()
    storage.spill_to(str(tmp_path))
    for step in range(400):
        for i in range(200):
            storage.append({"__name__": "c", "i": str(i)}, T0 + step * 15_000, float(step))
    all_series = list(storage._series.values())
    assert len({id(s.bounds) for s in all_series}) <= HEAD
    in_files, in_memory = storage.spill.sizes()
    one = len(storage.spill.get(-1 - all_series[0].bounds[3]))
    assert in_files + in_memory <= one * 3 * HEAD  # not 3 × 200 chunks
    for step in range(400, 700):
        storage.append({"__name__": "c", "i": "0"}, T0 + step * 15_000, -float(step))
        for i in range(1, 200):
            storage.append({"__name__": "c", "i": str(i)}, T0 + step * 15_000, float(step))
    for labels, times, values in _window(storage, "c"):
        sign = -1.0 if labels["i"] == "0" else 1.0
        want = [float(s) if s < 400 else sign * s for s in range(700)]
        assert times == [T0 + s * 15_000 for s in range(700)]
        assert values == [_bits(v) for v in want], labels


def test_a_released_chunk_is_never_given_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An equal chunk put after its first copy's file was released gets a new reference
    that reads back."""
    spill = Spill(str(tmp_path))
    first = spill.put(b"chunk-a", 1000)
    assert spill.put(b"chunk-a", 1000) == first
    monkeypatch.setattr(spill_module, "SEGMENT", 8)
    spill.put(b"chunk-b", 5000)  # a new segment: the first one can go
    assert spill.release_before(2000) > 0
    again = spill.put(b"chunk-a", 1000)
    assert again != first
    assert spill.get(again) == b"chunk-a"


def test_a_restored_series_and_its_appender_hold_one_key(tmp_path: Path) -> None:
    """After a restart the self-scrape's key for a restored series is the tuple the store's
    index holds, not an equal copy."""
    storage = MemoryStorage()
    files = SampleFiles(storage, str(tmp_path))
    for step in range(40):
        storage.append({"__name__": "up", "job": "a"}, T0 + step * 1000, 1.0)
    asyncio.run(files.checkpoint())
    again = MemoryStorage()
    SampleFiles(again, str(tmp_path)).recover(mint_ms=0)
    fresh = (("__name__", "up"), ("job", "a"))
    held = next(k for k in again._series if k == fresh)
    assert again.canonical(fresh) is held
    assert again.canonical(labels_of({"job": "a", "__name__": "up"})) is held


def test_reset_notes_of_counters_that_fall_together_are_shared() -> None:
    """Counters that all start again at once (aiwatch restarted) hold one array of reset
    times, and each still reports its own value before the reset."""
    storage = MemoryStorage()
    for step in range(30):
        for i in range(50):
            value = float(step if step < 20 else step - 20) * (i + 1)
            storage.append({"__name__": "n_total", "i": str(i)}, T0 + step * 1000, value)
    notes = {id(s.drops) for s in storage._series.values()}
    assert len(notes) == 1
    found = storage.select_counters([LabelMatcher("__name__", "=", "n_total")], 0, 2**62)
    for labels, _, _, before in found:
        i = int(dict(labels)["i"])
        assert list(before or ()) == [19.0 * (i + 1)]


def test_recent_keeps_what_is_asked_for_again() -> None:
    """Entries found again outlive the many that are made once."""
    recent: shared.Recent[str, int] = shared.Recent(size=4)
    recent.put("common", 1)
    assert recent.get("common") == 1
    for i in range(20):
        recent.put(f"once{i}", i)
    assert recent.get("common") == 1
    assert recent.get("once0") is None
    assert len(recent) <= 8
