"""Start-up's bulk paths into the local sample store: whole series from a snapshot, and runs
of samples replayed from the write-ahead log, each under one hold of the store's lock.

They do what ``MemoryStorage.restore`` and ``append_key`` do, with the work per series done
once per block (the label index, the count of pair uses, the selection cache) and the work
per sample done by array operations whenever a series' replayed samples simply follow what
it holds (newer, in order, no NaN, no drop of a counter) — nearly always.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import chain
from operator import gt, le

from aiwatch.promql.labels import Labels
from aiwatch.promql.series import Series
from aiwatch.promql.storage import MemoryStorage, _name_of


def restore(storage: MemoryStorage, keys: Sequence[Labels], series: Sequence[Series]) -> int:
    """Take ``series`` back under ``keys`` (made of the store's shared pairs, see
    ``MemoryStorage.canonical``), replacing any of the same labels; how many."""
    st = storage
    with st._lock:
        by_key, names = st._series, st._names
        new_keys: list[Labels] = []
        samples = 0
        refs = st._refs
        for key, s in zip(keys, series, strict=True):
            old = by_key.get(key)
            if old is None:
                new_keys.append(key)
                names.setdefault(_name_of(key), []).append(key)
            else:
                samples -= len(old.times) + old.closed()
            refs += 1
            s.ref = refs
            by_key[key] = s
            samples += len(s.times) + sum(s.bounds[2::4])
        st._refs = refs
        st._samples += samples
        uses = st._pair_uses
        for pair, n in Counter(chain.from_iterable(new_keys)).items():
            uses[pair] = uses.get(pair, 0) + n
        st._generation += 1
        st._selections.clear()
        st._selection_size = 0
    return len(series)


def append_runs(
    storage: MemoryStorage, runs: Sequence[tuple[Labels, Sequence[int], Sequence[float]]]
) -> int:
    """Append each run of samples (one series' samples, in the order they were stored) as
    ``append_key`` would, skipping those older than their series' newest; how many were
    stored. Small chunks sealed meanwhile are merged by each series' next seal."""
    st = storage
    stored = 0
    with st._lock:
        st._merge = False
        try:
            for key, times, values in runs:
                series = st._series.get(key) or st._new_series(key)
                stored += _append_run(st, series, key, times, values)
        finally:
            st._merge = True
    return stored


def _append_run(
    st: MemoryStorage, series: Series, key: Labels, times: Sequence[int], values: Sequence[float]
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
    if st.log is not None or not _follows(series, times, values):
        return stored + _one_by_one(st, series, key, times, values)
    at, n = 0, len(times)
    while at < n:
        if len(head) >= series.cap:
            series.seal(False)
        room = series.cap - len(head)
        head.extend(times[at : at + room])
        series.values.extend(values[at : at + room])
        at += room
    series.last = values[-1]
    st._samples += n
    return stored + n


def _follows(series: Series, times: Sequence[int], values: Sequence[float]) -> bool:
    """Whether the samples are in time order and free of NaN, and (for a series that keeps
    reset notes) never lower than the one before: appending them only extends the head."""
    total = sum(values)
    if total != total or any(map(le, times[1:], times[:-1])):  # noqa: PLR0124 - NaN
        return False  # a NaN (or infinities that cancel), or times out of order
    if not series.exact:
        return True
    return not series.last > values[0] and not any(map(gt, values[:-1], values[1:]))


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
