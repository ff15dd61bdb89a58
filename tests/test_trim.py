"""Free memory the C allocator holds goes back to the system after a recovery or snapshot."""

import sys
from pathlib import Path

import pytest

from aiwatch.trim import release_free_memory


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_heap_memory_leaves_the_resident_set() -> None:
    """80 MB of 2 KB strings (the C allocator's, too large for Python's own), nine in ten
    freed: the freed pages stay resident until they are released, then they do not."""
    release_free_memory()
    held = [bytes(2048) for _ in range(40_000)]
    kept = held[::10]
    del held
    before = _rss_kb()
    assert release_free_memory()
    after = _rss_kb()
    assert before - after > 40_000, (before, after)
    assert all(len(b) == 2048 for b in kept)
