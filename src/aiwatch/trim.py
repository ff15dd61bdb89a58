"""Memory the C allocator holds free, given back to the system.

After a burst of short-lived allocations (recovering the sample store, writing a snapshot)
glibc keeps the memory freed in its heaps, where it still counts in the process' resident
set although nothing uses it. Two remedies, both for glibc (with another C library, or
without these functions, they do nothing):

- ``tune_allocator``, once at the daemon's start: blocks of 128 KiB or more (a scrape's log
  record, a slice of the snapshot, the ``/metrics`` page) are always mapped on their own and
  unmapped when freed, and the heap's free top is returned past 128 KiB. glibc's default
  raises both thresholds after the first large block is freed (up to 32 MiB), after which
  such blocks come from the heap and their space stays resident between the long-lived
  objects allocated around them;
- ``release_free_memory`` (``malloc_trim``), after a recovery and after each snapshot: the
  free pages inside the heaps go back to the kernel.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)  # the symbols the process already has, its C library's
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_TRIM = _malloc_trim()

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
THRESHOLD = 128 * 1024
"""Blocks at least this large are mapped on their own; a free heap top this large is returned."""


def tune_allocator() -> bool:
    """Fix the allocator's thresholds at ``THRESHOLD`` (see the module), unless the
    environment already sets them (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``);
    whether they were set."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, THRESHOLD))


def release_free_memory() -> bool:
    """Give the allocator's free pages back to the system; whether it could be asked."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
