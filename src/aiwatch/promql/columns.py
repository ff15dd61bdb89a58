"""Many series of the local sample store in one block of columns, as the snapshot keeps them.

A block holds the whole state of up to a few thousand series (see ``series.Series``): each
part of it — floors, head times and values, chunk bounds, chunk bytes, reset notes — as one
array for every series of the block one after the other, and each series' share of it in a
column of lengths. Loading then reads a few dozen arrays per block and only slices them per
series, instead of reading and checking each series' parts on their own. A series' labels are
numbers in the snapshot's table of label pairs; the pairs first used in a block are written in
it, as one text and a column of lengths. A CRC-32 covers each block.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Iterable
from itertools import accumulate, islice
from math import copysign

from aiwatch.promql.labels import Labels
from aiwatch.promql.series import HEAD, KEEP, Series, doubles, narrowed
from aiwatch.promql.shared import chunks, shared
from aiwatch.promql.spill import Spill

_COUNTS = 10
HEADER_SIZE = 4 * _COUNTS
"""CRC-32 of the body, its length, then how many series, new label pairs, bytes of their
text, label numbers, chunks, chunk bytes, head samples and reset notes the block holds."""

_NAN, _EXACT, _DROPS = 1, 2, 4


class _Columns:
    """The columns of one block, in the order the block holds them."""

    def __init__(self) -> None:
        self.pair_lens = array("I")  # characters of each string of the new pairs
        self.text = b""
        self.key_lens = array("I")
        self.indices = array("I")
        self.floors = array("q")
        self.lasts = array("d")
        self.flags = array("B")
        self.chunk_counts = array("I")
        self.data_lens = array("I")
        self.head_lens = array("I")
        self.drop_lens = array("I")
        self.bounds = array("q")
        self.data = b""
        self.times = array("q")
        self.values = array("d")
        self.drops = array("q")
        self.drop_prev = array("d")

    def parts(self) -> list[array[int] | array[float] | bytes]:
        return list(vars(self).values())


_NAMES = tuple(vars(_Columns()))


def encode(
    items: Iterable[tuple[Labels, Series]],
    numbers: dict[tuple[str, str], int],
    spill: Spill | None = None,
) -> bytes:
    """One block of ``items`` (their full chunks read from ``spill``); ``numbers`` (the
    snapshot's pair table so far) is extended."""
    first_new = len(numbers)
    c = _Columns()
    data: list[bytes] = []
    for key, series in items:
        if not series.times:
            continue  # emptied by the retention while the snapshot paused: about to go
        c.indices.extend([numbers.setdefault(pair, len(numbers)) for pair in key])
        c.key_lens.append(len(key))
        c.floors.append(series.floor)
        c.lasts.append(series.last)
        c.chunk_counts.append(len(series.bounds) // 4)
        bounds, chunk_bytes = in_memory(series, spill)
        c.bounds += bounds
        data.append(chunk_bytes)
        c.data_lens.append(len(chunk_bytes))
        c.head_lens.append(len(series.times))
        c.times += series.times
        c.values += doubles(series.values)
        drops, drop_prev = series.drops, series.drop_prev
        flags = series.nan | series.exact << 1
        if drops is not None and drop_prev is not None:
            flags |= _DROPS
            c.drops += drops
            c.drop_prev += drop_prev
        c.drop_lens.append(len(drops) if flags & _DROPS and drops is not None else 0)
        c.flags.append(flags)
    strings = [s for pair in islice(numbers, first_new, None) for s in pair]
    c.pair_lens, c.text = join_text(strings)
    c.data = b"".join(data)
    body = b"".join(p if isinstance(p, bytes) else p.tobytes() for p in c.parts())
    counts = (
        len(c.key_lens),
        len(strings) // 2,
        len(c.text),
        len(c.indices),
        sum(c.chunk_counts),
        len(c.data),
        len(c.times),
        len(c.drops),
    )
    return array("I", (zlib.crc32(body), len(body), *counts)).tobytes() + body


def in_memory(series: Series, spill: Spill | None) -> tuple[array[int], bytes]:
    """The series' chunk bounds and bytes as a snapshot keeps them: every chunk in one byte
    string, each place its end there."""
    bounds = series.bounds
    places = bounds[3::4]
    if not places or min(places) >= 0:  # nothing in the spill
        return bounds, series.data
    assert spill is not None, "chunks in a spill need their spill"
    read = iter(spill.get_many([-1 - place for place in places if place < 0]))
    data, start, parts = series.data, 0, []
    for place in places:
        if place < 0:
            parts.append(next(read))
        else:
            parts.append(data[start:place])
            start = place
    bounds = array("q", bounds)
    bounds[3::4] = array("q", accumulate(map(len, parts)))
    return bounds, b"".join(parts)


def decode(
    data: bytes | memoryview,
    pos: int,
    pairs: list[tuple[str, str]],
    share: Callable[[Labels], Labels],
) -> tuple[list[Labels], list[Series], int, int]:
    """The keys and series of the block at ``pos``, how many samples they hold, and where
    the next block starts.

    ``pairs`` (the pair table of the blocks before) is extended with the block's new pairs,
    passed through ``share`` (the store's ``canonical``); ``ValueError`` if the block is
    incomplete or damaged.
    """
    header = array("I")
    header.frombytes(data[pos : pos + HEADER_SIZE])
    if len(header) < _COUNTS:
        msg = "snapshot truncated in a block header"
        raise ValueError(msg)
    crc, length, n, n_pairs, n_text, n_indices, n_chunks, n_data, n_head, n_drops = header
    body = data[pos + HEADER_SIZE : pos + HEADER_SIZE + length]
    if len(body) < length:
        msg = "snapshot truncated in a block"
        raise ValueError(msg)
    if zlib.crc32(body) != crc:
        msg = "snapshot block with a wrong checksum"
        raise ValueError(msg)
    sizes = (2 * n_pairs, n_text, n, n_indices, *[n] * 7, 4 * n_chunks, n_data)
    sizes += (n_head, n_head, n_drops, n_drops)
    c = _Columns()
    at = 0
    for name, size in zip(_NAMES, sizes, strict=True):
        part = getattr(c, name)
        if isinstance(part, bytes):
            setattr(c, name, bytes(body[at : at + size]))
            at += size
        else:
            part.frombytes(body[at : at + size * part.itemsize])
            at += size * part.itemsize
    if at != length or len(c.drop_prev) != n_drops:
        msg = "snapshot block of the wrong length"
        raise ValueError(msg)
    _check(c, n_chunks, n_data, n_head, n_drops)
    pairs += share(tuple(_pairs(c)))
    samples = n_head + sum(c.bounds[2::4])
    return keys_of(c.key_lens, c.indices, pairs), _series(c), samples, pos + HEADER_SIZE + length


def _check(c: _Columns, n_chunks: int, n_data: int, n_head: int, n_drops: int) -> None:
    if (
        sum(c.chunk_counts) != n_chunks
        or sum(c.data_lens) != n_data
        or sum(c.head_lens) != n_head
        or sum(c.drop_lens) != n_drops
        or sum(c.key_lens) != len(c.indices)
        or (c.head_lens and min(c.head_lens) == 0)
    ):
        msg = "snapshot block whose columns disagree"
        raise ValueError(msg)


def _pairs(c: _Columns) -> list[tuple[str, str]]:
    strings = split_text(c.pair_lens, c.text)
    return list(zip(strings[::2], strings[1::2], strict=True))


def join_text(strings: list[str]) -> tuple[array[int], bytes]:
    """``strings`` as one UTF-8 text and the length of each in characters."""
    return array("I", map(len, strings)), "".join(strings).encode("utf-8", "surrogatepass")


def split_text(lengths: array[int], text: bytes) -> list[str]:
    """The strings ``join_text`` joined; ``ValueError`` if the lengths disagree with it."""
    whole = text.decode("utf-8", "surrogatepass")
    ends = list(accumulate(lengths))
    if (ends[-1] if ends else 0) != len(whole):
        msg = "label text whose lengths disagree"
        raise ValueError(msg)
    return [whole[a:b] for a, b in zip([0, *ends][: len(ends)], ends, strict=True)]


def keys_of(lengths: array[int], indices: array[int], pairs: list[tuple[str, str]]) -> list[Labels]:
    """Each key: the next ``lengths[i]`` label pairs, by their numbers in ``pairs``."""
    if indices and max(indices) >= len(pairs):
        msg = "labels that name a label pair not in the table"
        raise ValueError(msg)
    flat = iter(list(map(pairs.__getitem__, indices)))
    return [tuple(islice(flat, n)) for n in lengths]


_NANS = tuple(bool(flags & _NAN) for flags in range(8))
_EXACTS = tuple(bool(flags & _EXACT) for flags in range(8))


def _series(c: _Columns) -> list[Series]:
    """A series object for each row, its arrays sliced from the columns."""
    out: list[Series] = []
    new = Series.__new__
    bounds, data, times, values = c.bounds, c.data, c.times, c.values
    drops, drop_prev = c.drops, c.drop_prev
    ends = bounds[3::4]
    cap = HEAD + KEEP
    floors: dict[int, int] = {}
    lasts: dict[tuple[float, float], float] = {}  # the sign of zero kept
    for floor, last, flags, b0, b1, d0, d1, h0, h1, x0, x1 in zip(
        c.floors,
        c.lasts,
        c.flags,
        *_spans(c.chunk_counts),
        *_spans(c.data_lens),
        *_spans(c.head_lens),
        *_spans(c.drop_lens),
        strict=True,
    ):
        if b1 > b0 and ends[b1 - 1] != d1 - d0:
            msg = "snapshot series whose chunks disagree with their bounds"
            raise ValueError(msg)
        s = new(Series)
        # Most series share their floor and many their newest value (0, a count): one object
        # each, not one per series.
        s.floor = floors.setdefault(floor, floor)
        s.last = lasts.setdefault((last, copysign(1, last)), last)
        s.cap, s.logged, s.ref, s.key = cap, -1, 0, ()
        s.nan, s.exact = _NANS[flags & 7], _EXACTS[flags & 7]
        s.bounds, s.data = bounds[4 * b0 : 4 * b1], chunks(data[d0:d1])
        s.times, s.values = shared(times[h0:h1]), narrowed(values[h0:h1])
        if flags & _DROPS:
            s.drops, s.drop_prev = shared(drops[x0:x1]), drop_prev[x0:x1]
        else:
            s.drops = s.drop_prev = None
        out.append(s)
    return out


def _spans(lengths: array[int]) -> tuple[list[int], list[int]]:
    """Where each row's share of a column starts, and where it ends."""
    ends = list(accumulate(lengths, initial=0))
    return ends[:-1], ends[1:]
