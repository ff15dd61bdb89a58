"""What a probe result costs in memory: the daemon keeps the last ones of every target."""

import dataclasses
import gc
import tracemalloc

from tests.probes.test_series import BASE


def test_a_probe_result_costs_under_600_bytes_beyond_its_strings() -> None:
    """10,000 results that share their strings cost under 600 bytes each (about 330 with
    slots; a result with a per-instance dict of its 36 fields cost about 1,670), so the
    results kept per target (the last one, the ones a listener keeps) stay small."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        results = [dataclasses.replace(BASE, duration=float(i)) for i in range(10_000)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(results) == 10_000
    assert held / len(results) < 600, held / len(results)
