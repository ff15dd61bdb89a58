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
from collections.abc import Iterable

EMPTY = array("q")
"""The timestamps of a head without samples (a new series'): shared, never changed."""

_STEPS_KEPT = 4
"""Timestamps whose appends are remembered: a scrape's and a few rule evaluations' at once."""

_MADE_KEPT = 4096
"""Arrays (cut by a seal, restored, extended by a run) and chunk strings remembered by their
contents: about the series that seal in one scrape."""

# For each recent timestamp t: the array made by appending t to each array (by its id, the
# array itself kept with it so that the id stays its own).
_steps: dict[int, dict[int, tuple[array[int], array[int]]]] = {}
_made: dict[bytes, array[int]] = {}
_chunks: dict[bytes, bytes] = {}


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
    key = times.tobytes()
    found = _made.get(key)
    if found is None:
        if len(_made) >= _MADE_KEPT:
            _made.clear()
        _made[key] = found = times
    return found


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
    found = _chunks.get(data)
    if found is None:
        if len(_chunks) >= _MADE_KEPT:
            _chunks.clear()
        _chunks[data] = found = data
    return found
