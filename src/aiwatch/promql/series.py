"""One series of the local sample store: closed chunks of encoded samples and an open head.

New samples go to the head, two plain arrays: its timestamps (an array never changed in
place, shared by the series stored at the same times, see ``shared``) and its values (in
single precision while each is exactly one). When the head is full, its oldest samples
are sealed into a small chunk (their integers only narrowed), and every few small chunks
are merged into one deflated chunk of ``chunks.CHUNK`` samples, so the encoding's cost is
paid about twice per sample and the head stays short. Full chunks are kept out of memory, in
the store's ``spill.Spill``. Windows decode the chunks they touch, through a bounded cache."""

from __future__ import annotations

import math
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

from aiwatch.promql import chunks, shared
from aiwatch.promql.labels import Labels
from aiwatch.promql.spill import MAX_CHUNK, Spill

HEAD = 32
"""Samples sealed from the head into a small chunk at a time."""

KEEP = 16
"""Newest samples the head keeps when it is sealed: windows of the last few minutes (what
most rules read) are then answered from the head, without decoding a chunk."""

_SMALL_PER_CHUNK = chunks.CHUNK // HEAD

DECODED_ROOM = 1_000_000
"""Decoded samples the store keeps for windows that read closed chunks (about 16 MB)."""


class Series:
    """Timestamps and values of one series, oldest first, and what range functions reuse.

    ``times``/``values``: the head, never empty while the series exists. ``bounds``: the
    first time, the last time, the sample count and the place of each closed chunk, oldest
    first. Full chunks are in the store's spill, their place the negative ``-1 - ref`` of
    their reference there; the others, small (unmerged) or too large for the spill, are in
    ``data``, one after the other in one byte string (one object per series rather than one
    per chunk), their place their end in it. ``floor``: samples
    older than it are past retention and hidden (the first chunk is dropped once it is
    wholly past). ``nan``: whether a NaN (a stale marker, say) was ever appended, so that
    windows of the many series without any can skip looking for stale markers.
    ``drops``/``drop_prev``: the time of every sample lower than the non-stale sample before
    it, and that earlier value (None until the first), so that ``rate`` need not compare
    every sample of a window; ``last`` is the newest non-stale value. ``exact`` turns false
    when the newest sample is replaced or the series has dropped more than
    ``storage.MAX_DROPS`` times (a gauge), after which the drops are no longer kept.
    ``ref``/``logged``: the series' number in the write-ahead log and the log generation
    in which its labels were last written. ``key``: its labels, the very tuple the store's
    index holds (so that others appending to it can hold that one too).
    """

    __slots__ = (
        "bounds",
        "cap",
        "data",
        "drop_prev",
        "drops",
        "exact",
        "floor",
        "key",
        "last",
        "logged",
        "nan",
        "ref",
        "times",
        "values",
    )

    def __init__(self, ref: int, cap: int) -> None:
        self.times = shared.EMPTY
        self.values = array("f")
        self.data = b""
        self.bounds = shared.EMPTY
        self.floor = -(2**63)
        self.cap = cap
        self.nan = False
        self.last = math.nan
        self.drops: array[int] | None = None
        self.drop_prev: array[float] | None = None
        self.exact = True
        self.ref = ref
        self.logged = -1
        self.key: Labels = ()

    def seal(self, spill: Spill | None, merge: bool = True) -> None:
        """Move the head's oldest samples into a small chunk, keeping the newest ``KEEP``;
        merge the small chunks once there are enough (unless ``merge`` is false: a later
        seal merges them all), into ``spill`` when the merged chunk is full."""
        cut = len(self.times) - KEEP
        times, values = self.times[:cut], doubles(self.values[:cut])
        self.times = shared.cut(self.times, cut)
        self.values = narrowed(self.values[cut:])
        self.data += chunks.encode(times, values, deflate=False)
        # A private copy while it changes: the arrays of bounds are shared (see the end).
        self.bounds = bounds = array("q", self.bounds)
        bounds.extend((times[0], times[-1], len(times), len(self.data)))
        self.cap = HEAD + KEEP
        n = len(bounds) // 4
        small = 0
        while small < n and bounds[-4 * small - 2] < chunks.CHUNK:
            small += 1
        if merge and small >= _SMALL_PER_CHUNK:
            first = n - small
            merged_t, merged_v = array("q"), array("d")
            for i in range(first, n):
                chunk = self.chunk(i, spill)
                merged_t += chunks.decode_times(chunk)
                merged_v += chunks.decode_values(chunk)
            start = self._start(first)
            del bounds[4 * first :]
            merged = chunks.encode(merged_t, merged_v)
            if spill is not None and len(merged_t) >= chunks.CHUNK and len(merged) <= MAX_CHUNK:
                self.data = self.data[:start]
                place = -1 - spill.put(merged, merged_t[-1])
            else:
                self.data = self.data[:start] + merged
                place = len(self.data)
            bounds.extend((merged_t[0], merged_t[-1], len(merged_t), place))
        self.data = shared.chunks(self.data)
        self.bounds = shared.shared(bounds)

    def chunk(self, i: int, spill: Spill | None) -> bytes:
        """Closed chunk ``i`` (0: the oldest); ``KeyError`` if it is in a released part of
        ``spill``."""
        place = self.bounds[4 * i + 3]
        if place < 0:
            assert spill is not None, "a spilled chunk needs its spill"
            return spill.get(-1 - place)
        return self.data[self._start(i) : place]

    def _start(self, i: int) -> int:
        """Where chunk ``i`` starts in ``data``: the end of the nearest one before it there."""
        bounds = self.bounds
        for j in range(4 * i - 1, 2, -4):
            if bounds[j] >= 0:
                return bounds[j]
        return 0

    def spill_full(self, spill: Spill) -> None:
        """Move the closed chunks held in ``data`` (a restored series') into ``spill``, but
        the newest small ones, which the next merge rewrites."""
        bounds = array("q", self.bounds)
        n = len(bounds) // 4
        while n and bounds[4 * n - 2] < chunks.CHUNK:
            n -= 1
        data, cut = self.data, 0
        for i in range(n):
            place = bounds[4 * i + 3]
            if place < 0:
                continue
            if place - cut > MAX_CHUNK:
                break  # kept here, and so are the chunks after it
            bounds[4 * i + 3] = -1 - spill.put(data[cut:place], bounds[4 * i + 1])
            cut = place
        if cut:
            self.data = shared.chunks(data[cut:])
            for i in range(3, len(bounds), 4):
                if bounds[i] >= 0:
                    bounds[i] -= cut
        self.bounds = shared.shared(bounds)

    def closed(self) -> int:
        """How many samples the closed chunks hold (those past retention included)."""
        return sum(self.bounds[2::4])

    def add(self, value: float) -> None:
        """Append ``value`` to the head's values, which are widened to double precision
        when it is not exactly a single-precision float (or is NaN)."""
        values = self.values
        values.append(value)
        if values[-1] != value and values.typecode == "f":  # rounded, or NaN
            self._widen_newest(value)

    def add_many(self, more: Sequence[float]) -> None:
        """``add`` each of ``more``."""
        values = self.values
        if values.typecode == "f":
            narrow = array("f", more)
            if narrow == more:
                values.extend(narrow)
                return
            self.values = values = array("d", values)
        values.extend(more)

    def set_newest(self, value: float) -> None:
        """Replace the newest value of the head (widened as by ``add``)."""
        values = self.values
        values[-1] = value
        if values[-1] != value and values.typecode == "f":
            self._widen_newest(value)

    def _widen_newest(self, value: float) -> None:
        """Hold the head's values in double precision, the newest being ``value``."""
        values = array("d", self.values)
        values[-1] = value
        self.values = values

    def newest(self) -> int:
        """The newest timestamp (the head is never empty)."""
        return self.times[-1]

    def drop_before(self, t_ms: int) -> int:
        """Hide samples older than ``t_ms``; how many samples were freed for good."""
        freed = 0
        bounds = self.bounds
        n = 0
        while 4 * n < len(bounds) and bounds[4 * n + 1] < t_ms:
            freed += bounds[4 * n + 2]
            n += 1
        if n:
            cut = max(0, *bounds[3 : 4 * n : 4])  # the end of the last one held in ``data``
            bounds = bounds[4 * n :]
            if cut:
                self.data = shared.chunks(self.data[cut:])
                for i in range(3, len(bounds), 4):
                    if bounds[i] >= 0:
                        bounds[i] -= cut
            self.bounds = shared.shared(bounds)
        if not bounds:
            cut = bisect_left(self.times, t_ms)
            if cut:
                self.times = shared.cut(self.times, cut)
                del self.values[:cut]
                freed += cut
        self.floor = max(self.floor, t_ms)
        if self.drops is not None and self.drop_prev is not None:
            drop_cut = bisect_left(self.drops, t_ms)
            self.drops = shared.cut(self.drops, drop_cut)
            del self.drop_prev[:drop_cut]
        return freed

    def hidden(self, spill: Spill | None) -> int:
        """Samples kept in the first chunk but older than ``floor``."""
        if not self.bounds or self.bounds[0] >= self.floor:
            return 0
        return bisect_left(chunks.decode_times(self.chunk(0, spill)), self.floor)


def doubles(values: array[float]) -> array[float]:
    """``values`` in double precision (a head's may be held in single precision)."""
    return values if values.typecode == "d" else array("d", values)


def narrowed(values: array[float]) -> array[float]:
    """``values`` in single precision when each one is exactly a single-precision float
    (no NaN): the values of counters, bucket counts and 0/1 gauges, half the bytes."""
    narrow = array("f", values)
    return narrow if narrow == values else values


class Decoded:
    """Decoded chunks, the most recently used kept up to ``room`` samples in all.

    A chunk is known by its series' number, its first time and its sample count: chunks
    never change once written, and a series' chunks never overlap.
    """

    def __init__(self, spill: Spill | None = None, room: int = DECODED_ROOM) -> None:
        self.spill = spill
        self.room = room
        self._held = 0
        self._entries: dict[tuple[int, int, int], tuple[array[int], array[float]]] = {}

    def get(self, series: Series, i: int) -> tuple[array[int], array[float]]:
        """The times and values of the closed chunk ``i`` of ``series``."""
        entries = self._entries
        bounds = series.bounds
        key = (series.ref, bounds[4 * i], bounds[4 * i + 2])
        entry = entries.pop(key, None)
        if entry is None:
            chunk = series.chunk(i, self.spill)
            entry = (chunks.decode_times(chunk), chunks.decode_values(chunk))
            self._held += len(entry[0])
            while self._held > self.room and entries:
                oldest = next(iter(entries))
                self._held -= len(entries.pop(oldest)[0])
        entries[key] = entry
        return entry


def window(
    series: Series, decoded: Decoded, mint_ms: int, maxt_ms: int
) -> tuple[Sequence[int], Sequence[float]] | None:
    """The series' samples in ``[mint_ms, maxt_ms]`` (stale markers kept), or None."""
    times = series.times
    if not times or times[-1] < mint_ms:
        return None
    mint_ms = max(mint_ms, series.floor)
    if times[0] <= mint_ms or not series.bounds:
        lo = bisect_left(times, mint_ms)
        hi = len(times) if times[-1] <= maxt_ms else bisect_right(times, maxt_ms)
        if lo >= hi:
            return None
        return times[lo:hi], doubles(series.values[lo:hi])
    out_t, out_v = array("q"), array("d")
    bounds = series.bounds
    for i in range(len(bounds) // 4):
        first, last = bounds[4 * i], bounds[4 * i + 1]
        if last < mint_ms:
            continue
        if first > maxt_ms:
            break
        c_times, c_values = decoded.get(series, i)
        lo = 0 if first >= mint_ms else bisect_left(c_times, mint_ms)
        hi = len(c_times) if last <= maxt_ms else bisect_right(c_times, maxt_ms)
        out_t += c_times[lo:hi]
        out_v += c_values[lo:hi]
    if times[0] <= maxt_ms:
        hi = len(times) if times[-1] <= maxt_ms else bisect_right(times, maxt_ms)
        out_t += times[:hi]
        out_v += doubles(series.values[:hi])
    return (out_t, out_v) if out_t else None


_STATE = struct.Struct("<qdBIII")
# floor, last, flags (1: nan, 2: exact, 4: drops kept), chunks, head samples, drops: the start
# of a series' record in snapshots of the earlier layout (``AIWSNAP2``), then each chunk's
# first time, last time and count, each chunk's length, the chunks, the head's times and
# values, the reset notes' times and values.


def from_bytes(data: bytes | memoryview, ref: int) -> Series:
    """A series of a snapshot of the earlier layout; ``ValueError`` if ``data`` is damaged."""
    try:
        floor, last, flags, n_chunks, n_head, n_drops = _STATE.unpack_from(data)
    except struct.error as err:
        raise ValueError(str(err)) from None
    series = Series(ref, HEAD + KEEP)
    series.floor, series.last = floor, last
    series.nan, series.exact = bool(flags & 1), bool(flags & 2)
    pos = _STATE.size + 28 * n_chunks  # three times and a length per chunk
    lengths = array("I")
    lengths.frombytes(data[pos - 4 * n_chunks : pos])
    size = sum(lengths)
    n_drops = n_drops if flags & 4 else 0
    if len(data) != pos + size + 16 * (n_head + n_drops) or not n_head:
        msg = "series state of the wrong length"
        raise ValueError(msg)
    if n_chunks:
        triples = array("q")
        triples.frombytes(data[_STATE.size : pos - 4 * n_chunks])
        t = triples.tolist()
        bounds: list[int] = []
        for i, end in enumerate(accumulate(lengths)):
            bounds += (t[3 * i], t[3 * i + 1], t[3 * i + 2], end)
        series.bounds = array("q", bounds)
        series.data = bytes(data[pos : pos + size])
        pos += size
    times = array("q")
    times.frombytes(data[pos : pos + 8 * n_head])
    series.times = shared.shared(times)
    pos += 8 * n_head
    values = array("d")
    values.frombytes(data[pos : pos + 8 * n_head])
    series.values = narrowed(values)
    if flags & 4:
        pos += 8 * n_head
        series.drops, series.drop_prev = array("q"), array("d")
        series.drops.frombytes(data[pos : pos + 8 * n_drops])
        series.drop_prev.frombytes(data[pos + 8 * n_drops :])
    return series
