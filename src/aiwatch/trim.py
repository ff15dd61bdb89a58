"""Memory the C allocator holds free, given back to the system.

After a burst of short-lived allocations (recovering the sample store, writing a snapshot)
glibc keeps the memory freed in its heaps, where it still counts in the process' resident
set although nothing uses it. ``malloc_trim`` hands those free pages back to the kernel. With
another C library, or without ``malloc_trim``, this does nothing.
"""

from __future__ import annotations

import ctypes
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


def release_free_memory() -> bool:
    """Give the allocator's free pages back to the system; whether it could be asked."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
