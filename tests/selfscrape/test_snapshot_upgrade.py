"""A snapshot written by an earlier version (plain arrays) still loads."""

import json
import struct
from array import array
from pathlib import Path

from aiwatch import snapshot
from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, is_stale


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
