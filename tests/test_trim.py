"""Free memory the C allocator holds goes back to the system after a recovery or snapshot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiwatch.trim import release_free_memory, tune_allocator


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


_INTERLEAVED = """
import sys
from aiwatch.trim import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
first = [bytes(300_000) for _ in range(2)]
del first  # glibc's default now serves blocks this large from its heap
blocks, kept = [], []
for _ in range(300):
    blocks.append(bytes(200_000))
    kept.append(bytes(1000))  # long-lived, between the large blocks
del blocks
status = open("/proc/self/status").read()
print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
"""


def _rss_after_interleaved(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", _INTERLEAVED, mode],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_large_blocks_freed_between_long_lived_ones_leave_the_resident_set() -> None:
    """60 MB of 200 KB blocks, each followed by a small object that stays, then freed: with
    glibc's default thresholds their space stays resident; with the daemon's it does not."""
    plain, tuned = _rss_after_interleaved("plain"), _rss_after_interleaved("tuned")
    assert plain - tuned > 30_000, (plain, tuned)


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's own ``MALLOC_MMAP_THRESHOLD_`` is left as it is."""
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert not tune_allocator()
