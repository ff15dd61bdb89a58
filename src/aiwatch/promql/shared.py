"""Head timestamps (and strings of small chunks) shared by the series that hold the same ones.

The series of one scrape are stored at one timestamp, so the heads of a scrape's thousands of
series hold the same few dozen arrays of timestamps (they differ only in where each was last
sealed). A head's timestamps are therefore never changed in place: every change makes a new
array, looked up first among those made lately, so that series taking the same step from the
same array end up holding one array, as ``sys.intern`` does for strings.

Lookups and inserts are single dictionary operations: from several threads at once (stores
of different tests, say) a race may only make an equal array twice, never a wrong one.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

EMPTY = array("q")
"""The timestamps of a head without samples (a new series'): shared, never changed."""

_STEPS_KEPT = 4
"""Timestamps whose appends are remembered: a scrape's and a few rule evaluations' at once."""

_MADE_KEPT = 4096
"""Contents each ``Recent`` table remembers in each of its two generations."""


class Recent(Generic[K, V]):
    """What was made lately, by its contents: at most ``size`` new entries and ``size`` that
    were asked for again (the common ones: a histogram's buckets that never move, the counts
    of targets probed alike), so that those outlive the many that are made once. Each
    operation is one or two dictionary operations, safe to race as the module says."""

    __slots__ = ("_new", "_reused", "size")

    def __init__(self, size: int = _MADE_KEPT) -> None:
        self.size = size
        self._new: dict[K, V] = {}
        self._reused: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, or None."""
        found = self._reused.get(key)
        if found is None:
            found = self._new.pop(key, None)
            if found is not None:
                if len(self._reused) >= self.size:
                    self._reused.clear()
                self._reused[key] = found
        return found

    def put(self, key: K, value: V) -> None:
        """Remember ``value`` for ``key``."""
        if len(self._new) >= self.size:
            self._new.clear()
        self._new[key] = value

    def intern(self, key: K, value: V) -> V:
        """The value kept for ``key``, or ``value``, now kept for it."""
        found = self.get(key)
        if found is None:
            self.put(key, value)
            return value
        return found

    def __len__(self) -> int:
        return len(self._new) + len(self._reused)

    def clear(self) -> None:
        """Forget everything."""
        self._new.clear()
        self._reused.clear()


# For each recent timestamp t: the array made by appending t to each array (by its id, the
# array itself kept with it so that the id stays its own).
_steps: dict[int, dict[int, tuple[array[int], array[int]]]] = {}
_made: Recent[bytes, array[int]] = Recent()
_chunks: Recent[bytes, bytes] = Recent()


def appended(times: array[int], t_ms: int) -> array[int]:
    """``times`` with ``t_ms`` after it: an array made for the same step before, or a new one."""
    step = _steps.get(t_ms)
    if step is None:
        while len(_steps) >= _STEPS_KEPT:
            _steps.pop(next(iter(_steps), t_ms), None)
        step = _steps[t_ms] = {}
    hit = step.get(id(times))
    if hit is not None and hit[0] is times:
        return hit[1]
    new = array("q", times)
    new.append(t_ms)
    step[id(times)] = (times, new)
    return new


def shared(times: array[int]) -> array[int]:
    """An array equal to ``times`` made lately, or ``times`` (which must not change after)."""
    if not times:
        return EMPTY
    return _made.intern(times.tobytes(), times)


def extended(times: array[int], more: Iterable[int]) -> array[int]:
    """``times`` followed by ``more``, shared."""
    new = array("q", times)
    new.extend(more)
    return shared(new)


def cut(times: array[int], start: int) -> array[int]:
    """``times`` from index ``start`` on, shared."""
    return shared(times[start:]) if start else times


def chunks(data: bytes) -> bytes:
    """A string of small chunks equal to ``data`` made lately, or ``data``: the series of
    a target's histograms whose buckets did not move, say, hold the same ones."""
    return _chunks.intern(data, data)
