"""Start-up's bulk paths into the local sample store: whole series from a snapshot, and runs
of samples replayed from the write-ahead log, each under one hold of the store's lock.

They do what ``MemoryStorage.restore`` and ``append_key`` do, with the work per series done
once per block (the label index, the count of pair uses, the selection cache) and the work
per sample done by array operations whenever a series' replayed samples simply follow what
it holds (newer, in order, no NaN, no drop of a counter) — nearly always.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain, compress
from operator import and_, eq, le, lt, ne, not_

from aiwatch.promql import shared
from aiwatch.promql.labels import Labels
from aiwatch.promql.series import Series
from aiwatch.promql.storage import MemoryStorage, _name_of


def restore(
    storage: MemoryStorage, keys: Sequence[Labels], series: Sequence[Series], samples: int
) -> int:
    """Take ``series`` (holding ``samples`` in all) back under ``keys`` (made of the store's
    shared pairs, see ``MemoryStorage.canonical``), replacing any of the same labels; how
    many."""
    st = storage
    with st._lock:
        by_key, names = st._series, st._names
        new_keys: list[Labels] = []
        refs = st._refs
        spill = st.spill
        for key, s in zip(keys, series, strict=True):
            s.spill_full(spill)
            refs += 1
            s.ref = refs
            old = by_key.setdefault(key, s)
            s.key = key if old is s else old.key
            if old is s:
                new_keys.append(key)
                names.setdefault(_name_of(key), []).append(key)
            else:
                samples -= len(old.times) + old.closed()
                by_key[key] = s
        st._refs = refs
        st._samples += samples
        uses = st._pair_uses
        for pair, n in Counter(chain.from_iterable(new_keys)).items():
            uses[pair] = uses.get(pair, 0) + n
        st._generation += 1
        st._selections.clear()
        st._selection_size = 0
    return len(series)


PLAIN, FALLS, IRREGULAR = 0, 1, 2
"""How a run's samples follow each other: in time order without NaN and never lower than the
one before; the same but lower at times (a counter's reset, a gauge); anything else (times
not increasing, NaN values)."""

Run = tuple[Labels, "array[int]", "array[float]", int]
"""One series' samples, in the order they were stored, and how they follow each other."""


def runs_of(
    refs: array[int],
    times: array[int],
    values: array[float],
    key_of: Callable[[int], Labels | None],
    mint_ms: int,
) -> list[Run]:
    """The samples of each series (known by ``key_of`` its number in ``refs``) that are not
    older than ``mint_ms``, each series' in the order given; the work per sample is done by
    sorting and by array and iterator functions, not by a loop in Python."""
    order = sorted(range(len(refs)), key=refs.__getitem__)  # stable: each series' in order
    if times and min(times) < mint_ms:
        order = [i for i in order if times[i] >= mint_ms]
    ordered = array("Q", map(refs.__getitem__, order))
    times = array("q", map(times.__getitem__, order))
    values = array("d", map(values.__getitem__, order))
    n = len(ordered)
    nexts = ordered[1:]
    same = list(map(eq, nexts, ordered))
    irregular = set(compress(nexts, map(and_, same, map(le, times[1:], times))))
    irregular.update(compress(ordered, map(ne, values, values)))  # NaN
    falls = set(compress(nexts, map(and_, same, map(lt, values[1:], values))))
    starts = [0, *compress(range(1, n), map(not_, same))] if n else []
    runs: list[Run] = []
    for start, end in zip(starts, [*starts[1:], n], strict=True):
        ref = ordered[start]
        key = key_of(ref)
        if key is not None:
            kind = IRREGULAR if ref in irregular else FALLS if ref in falls else PLAIN
            runs.append((key, times[start:end], values[start:end], kind))
    return runs


def append_runs(storage: MemoryStorage, runs: Sequence[Run]) -> int:
    """Append each run of samples as ``append_key`` would, skipping those older than their
    series' newest; how many were stored. Small chunks sealed meanwhile are merged by each
    series' next seal."""
    st = storage
    stored = extended = 0
    with st._lock:
        st._merge = False
        try:
            get, new = st._series.get, st._new_series
            for key, times, values, kind in runs:
                series = get(key) or new(key)
                head = series.times
                if (
                    kind != IRREGULAR
                    and head
                    and times[0] > head[-1]
                    and len(head) + len(times) <= series.cap
                    and (not series.exact or (kind == PLAIN and not series.last > values[0]))
                    and st.log is None
                ):  # they only extend the head: nearly always
                    series.times = shared.extended(head, times)
                    series.add_many(values)
                    series.last = values[-1]
                    extended += len(times)
                else:
                    stored += _append_run(st, series, key, times, values, kind=kind)
            st._samples += extended
        finally:
            st._merge = True
    return stored + extended


def _append_run(
    st: MemoryStorage,
    series: Series,
    key: Labels,
    times: Sequence[int],
    values: Sequence[float],
    *,
    kind: int,
) -> int:
    stored = at = 0
    head = series.times
    if head and times[0] <= head[-1]:
        # Samples the snapshot already holds (stored while it was taken) are skipped, and
        # one at the newest sample's time replaces it, as ``append_key`` does.
        newest = head[-1]
        while at < len(times) and times[at] <= newest:
            if times[at] == newest:
                st._append_to(series, key, times[at], values[at])
                stored += 1
            at += 1
        times, values = times[at:], values[at:]
    if not times:
        return stored
    if (
        kind == IRREGULAR
        or st.log is not None
        or (series.exact and (kind == FALLS or series.last > values[0]))
    ):
        return stored + _one_by_one(st, series, key, times, values)
    at, n = 0, len(times)
    while at < n:
        if len(series.times) >= series.cap:
            series.seal(st.spill, False)
        room = series.cap - len(series.times)
        series.times = shared.extended(series.times, times[at : at + room])
        series.add_many(values[at : at + room])
        at += room
    series.last = values[-1]
    st._samples += n
    return stored + n


def _one_by_one(
    st: MemoryStorage, series: Series, key: Labels, times: Sequence[int], values: Sequence[float]
) -> int:
    stored = 0
    for t_ms, value in zip(times, values, strict=True):
        try:
            st._append_to(series, key, t_ms, value)
        except ValueError:
            continue  # older than the series' newest sample
        stored += 1
    return stored
