"""The local sample store: float samples per series, in encoded chunks, with a label index."""

import operator
import struct
import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from aiwatch.promql.labels import LabelMatcher, Labels, MatchOp, format_labels
from aiwatch.promql.pacing import EVERY, give_way
from aiwatch.promql.series import HEAD, KEEP, Decoded, Series, window
from aiwatch.promql.shared import EMPTY, appended
from aiwatch.promql.spill import Spill

STALE_BITS = 0x7FF0000000000002
"""Prometheus' staleness marker: a NaN with a bit pattern no computation produces."""

STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_BITS))[0]
"""The staleness marker as a float."""

NAME = "__name__"

__all__ = ["LabelMatcher", "Labels", "MatchOp", "format_labels"]  # re-exported from labels

MAX_DROPS = 64
"""Drops a series' reset notes hold at most: a series that falls more often than this within
the retention is a gauge, whose notes would cost 16 bytes a drop and which ``rate`` does not
read; past it, windows of that series compare their samples as after a replaced sample."""

_SELECTION_ROOM = 100_000
"""Series references ``MemoryStorage`` remembers for selectors, besides eight per series."""


def is_stale(value: float) -> bool:
    """Whether ``value`` is the staleness marker (not any other NaN)."""
    return value != value and struct.unpack("<Q", struct.pack("<d", value))[0] == STALE_BITS  # noqa: PLR0124


Selected = list[tuple[Labels, Sequence[int], Sequence[float]]]
"""What ``select`` returns: each series' labels, timestamps and values, sorted by labels."""

SelectedCounters = list[tuple[Labels, Sequence[int], Sequence[float], Sequence[float] | None]]
"""What ``select_counters`` returns: ``Selected`` and the values before resets."""


class Storage(Protocol):
    """What the evaluator needs from a store: series and their samples in a time window.

    Thread safety: queries run in worker threads (several at once, ``--query.max-concurrency``)
    while the event loop appends samples and trims the retention. ``select`` and
    ``select_counters`` may therefore be called from any thread at any time, concurrently
    with each other and with appends and trims on the loop. They return copies (never views
    into storage that an append or trim can change afterwards), each series' times and values
    consistent with each other. Any lock an implementation takes must be held briefly (per
    series, not per selection), since the loop waits on it while it appends.
    """

    def select(
        self,
        matchers: Sequence[LabelMatcher],
        mint_ms: int,
        maxt_ms: int,
        *,
        drop_stale: bool = False,
    ) -> Selected:
        """Series matching all ``matchers`` with their samples in ``[mint_ms, maxt_ms]``."""
        ...

    def select_counters(
        self, matchers: Sequence[LabelMatcher], mint_ms: int, maxt_ms: int
    ) -> SelectedCounters:
        """``select(drop_stale=True)`` with the values before each reset (or None)."""
        ...


_Selection = list[tuple[Labels, Series]]


def labels_of(mapping: Mapping[str, str]) -> Labels:
    """The canonical ``Labels`` tuple of a mapping; empty values are dropped as in Prometheus."""
    return tuple(sorted((k, v) for k, v in mapping.items() if v != ""))


class SampleLog(Protocol):
    """Where ``MemoryStorage`` reports each sample it stores (the write-ahead log)."""

    def add(self, series: Series, key: Labels, t_ms: int, value: float) -> None:
        """Note one stored sample (a new one, or the newest one replaced)."""
        ...


class MemoryStorage:
    """A store of float samples in memory (their full chunks in files, ``spill``), indexed
    by label name and value.

    Samples of a series must arrive in time order; appending at the newest timestamp again
    replaces that sample (a re-evaluated recording rule), appending an older one is an error.
    Each stored sample is also given to ``log`` when one is set.
    """

    def __init__(self) -> None:
        # Held by the loop for each append and each series' trim, and by query threads while
        # they look up the index and copy one series' window: never for long.
        self._lock = threading.Lock()
        self._generation = 0  # counts series created and removed, for the selection cache
        self._series: dict[Labels, Series] = {}
        # The series of each metric name. Other labels are not indexed: a selector without a
        # name is answered by looking at every series, and the sorted answer of each selector
        # is remembered (``_selections``), so a set per label value would cost about 400
        # bytes per series for lookups that the cache makes rare.
        self._names: dict[str, list[Labels]] = {}
        self._samples = 0
        # The sorted series of each selector seen, grouped by the metric name the selector
        # asks for (None: no fixed name); a new or removed series drops its name's entries.
        self._selections: dict[str | None, dict[tuple[LabelMatcher, ...], _Selection]] = {}
        self._selection_size = 0
        # Full closed chunks live in files (``spill``): in the system's temporary folder
        # until ``spill_to`` names the storage path.
        self.spill = Spill()
        self._decoded = Decoded(self.spill)
        self._refs = 0
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}
        self._pair_uses: dict[tuple[str, str], int] = {}
        self.log: SampleLog | None = None
        self._merge = True  # false while replaying (``bulk``): merging waits for later

    def spill_to(self, directory: str) -> None:
        """Keep the files of full closed chunks in ``directory`` from now on."""
        with self._lock:
            self.spill.directory = directory

    def fork_lock(self) -> threading.Lock:
        """The store's lock, for a caller to hold around ``os.fork``.

        A forked child inherits the lock in the state it had; held around the fork, the child
        gets a store no thread was changing and releases its copy of the lock itself.
        """
        return self._lock

    def append(self, labels: Mapping[str, str], t_ms: int, value: float) -> None:
        """Add one sample; ``ValueError`` if it is older than the series' newest sample."""
        self.append_key(labels_of(labels), t_ms, value)

    def append_key(self, key: Labels, t_ms: int, value: float) -> None:
        """``append`` for labels already in canonical form (``labels_of``), skipping the sort."""
        with self._lock:
            self._append_locked(key, t_ms, value)

    def _append_locked(self, key: Labels, t_ms: int, value: float) -> None:
        series = self._series.get(key)
        if series is None:
            series = self._new_series(key)
        self._append_to(series, key, t_ms, value)

    def _append_to(self, series: Series, key: Labels, t_ms: int, value: float) -> None:
        times = series.times
        if times:
            if t_ms <= times[-1]:
                self._replace(series, key, t_ms, value)
                return
            if len(times) >= series.cap:
                series.seal(self.spill, self._merge)
                times = series.times
        series.times = appended(times, t_ms)
        series.add(value)
        self._samples += 1
        if self.log is not None:
            self.log.add(series, key, t_ms, value)
        if value != value:  # noqa: PLR0124 - NaN
            series.nan = True
            if is_stale(value):
                return
        elif value < series.last and series.exact:
            drops, drop_prev = series.drops, series.drop_prev
            if drops is None or drop_prev is None:
                # After aiwatch restarts, its counters all fall at once: one shared array.
                series.drops, series.drop_prev = appended(EMPTY, t_ms), array("d", (series.last,))
            elif len(drops) < MAX_DROPS:
                series.drops = appended(drops, t_ms)
                drop_prev.append(series.last)
            else:  # a gauge, not a counter: windows compare its samples instead
                series.drops = series.drop_prev = None
                series.exact = False
        series.last = value

    def _replace(self, series: Series, key: Labels, t_ms: int, value: float) -> None:
        if t_ms != series.times[-1]:
            msg = (
                f"out-of-order sample for {format_labels(key)}: {t_ms} is older than "
                f"{series.times[-1]}"
            )
            raise ValueError(msg)
        if _bits(series.values[-1]) == _bits(value):
            return  # the same sample again (replayed from the log, say): nothing changes
        series.set_newest(value)
        series.exact = False
        series.drops = series.drop_prev = None
        if value != value:  # noqa: PLR0124 - NaN
            series.nan = True
        if self.log is not None:
            self.log.add(series, key, t_ms, value)

    def canonical(self, key: Labels) -> Labels:
        """``key`` made of the label pairs the store already holds, so that the many series
        of one target or one metric share one copy of each pair (and its strings).

        The key of a series the store holds comes back as the very tuple its index holds,
        and any other key made of those pairs as it is, so that a caller that keeps the key
        it appends with (the self-scrape) and the store share one tuple per series, also
        for the series restored from a snapshot."""
        pairs = self._pairs
        shared = [pairs.setdefault(pair, pair) for pair in key]
        if not all(map(operator.is_, shared, key)):
            key = tuple(shared)
        held = self._series.get(key)
        return key if held is None else held.key

    def _new_series(self, key: Labels, restored: Series | None = None) -> Series:
        key = self.canonical(key)
        self._refs += 1
        # The first head of each series is sealed after its own number of samples, so that
        # series created together (by one scrape) do not all seal and merge in one scrape.
        series = restored or Series(self._refs, KEEP + 1 + hash(key) % HEAD)
        series.ref = self._refs
        series.key = key
        if key not in self._series:
            self._names.setdefault(_name_of(key), []).append(key)
            uses = self._pair_uses
            for pair in key:
                uses[pair] = uses.get(pair, 0) + 1
        self._series[key] = series
        self._generation += 1
        self._forget_selections(key)
        return series

    def restore(self, key: Labels, series: Series) -> None:
        """Take a whole series back (from a snapshot), replacing any of the same labels."""
        self.restore_many(((key, series),))

    def restore_many(self, items: Iterable[tuple[Labels, Series]]) -> int:
        """``restore`` every series of ``items`` (a snapshot's, read as they come) under one
        hold of the lock; how many."""
        restored = 0
        with self._lock:
            for key, series in items:
                old = self._series.get(key)
                if old is not None:
                    self._samples -= len(old.times) + old.closed()
                series.spill_full(self.spill)
                self._new_series(key, series)
                self._samples += len(series.times) + sum(series.bounds[2::4])
                restored += 1
        return restored

    def saved(self) -> Iterator[tuple[Labels, Series]]:
        """Every series as it is kept, for a snapshot (a copy of the list, as in ``dump``)."""
        for key in list(self._series):
            series = self._series.get(key)
            if series is not None:
                yield key, series

    def select(
        self,
        matchers: Sequence[LabelMatcher],
        mint_ms: int,
        maxt_ms: int,
        *,
        drop_stale: bool = False,
    ) -> Selected:
        """Series matching all ``matchers``, sorted by labels, with samples in the window.

        Series without samples in ``[mint_ms, maxt_ms]`` (both ends included) are left out;
        with ``drop_stale`` stale markers are removed first (as range selectors do).
        """
        out: Selected = []
        lock = self._lock
        for n, (key, series) in enumerate(self._selection(tuple(matchers))):
            if not n % EVERY:
                give_way()
            with lock:
                found = self._window(series, mint_ms, maxt_ms, drop_stale=drop_stale)
            if found is not None:
                out.append((key, found[0], found[1]))
        return out

    def select_counters(
        self, matchers: Sequence[LabelMatcher], mint_ms: int, maxt_ms: int
    ) -> SelectedCounters:
        """``select`` with ``drop_stale``, and for each series the value before every reset.

        A reset is a sample lower than the (non-stale) one before it, both in the window;
        the values before them come in time order. ``None`` instead when the store does not
        know them for that series (the caller then compares the samples itself).
        """
        out: SelectedCounters = []
        lock = self._lock
        for n, (key, series) in enumerate(self._selection(tuple(matchers))):
            if not n % EVERY:
                give_way()
            with lock:
                found = self._window(series, mint_ms, maxt_ms, drop_stale=True)
                if found is None:
                    continue
                times, values = found
                drops, drop_prev = series.drops, series.drop_prev
                if not series.exact:
                    out.append((key, times, values, None))
                elif (
                    not drops or drop_prev is None or drops[-1] <= times[0] or drops[0] > times[-1]
                ):
                    out.append((key, times, values, ()))
                else:
                    lo, hi = bisect_right(drops, times[0]), bisect_right(drops, times[-1])
                    out.append((key, times, values, drop_prev[lo:hi]))
        return out

    def _selection(self, matchers: tuple[LabelMatcher, ...]) -> _Selection:
        name = next((m.value for m in matchers if m.name == NAME and m.op == "=" and m.value), None)
        with self._lock:
            found = self._selections.get(name, {}).get(matchers)
            if found is not None:
                return found
            keys, rest = self._candidates(matchers)
            generation = self._generation
        # Filtering and sorting many keys take a while: not under the lock. Series created or
        # removed meanwhile make this selection one for this query only, not for the cache.
        if rest:
            verdicts: list[dict[str, bool]] = [{} for _ in rest]
            keys = [key for key in keys if _matches_all(rest, verdicts, key)]
        keys.sort()
        pairs = [(key, self._series.get(key)) for key in keys]
        found = [(key, series) for key, series in pairs if series is not None]
        with self._lock:
            if generation != self._generation:
                return found
            by_matchers = self._selections.setdefault(name, {})
            if self._selection_size + len(found) > _SELECTION_ROOM + 8 * len(self._series):
                # Many different selectors (ad-hoc queries, say): start over.
                by_matchers.clear()
                self._selections = {name: by_matchers}
                self._selection_size = 0
            by_matchers[matchers] = found
            self._selection_size += len(found)
        return found

    def _forget_selections(self, key: Labels) -> None:
        if not self._selections:
            return
        name = next((v for k, v in key if k == NAME), None)
        for dropped in (self._selections.pop(name, None), self._selections.pop(None, None)):
            if dropped:
                self._selection_size -= sum(map(len, dropped.values()))

    def _candidates(
        self, matchers: Sequence[LabelMatcher]
    ) -> tuple[list[Labels], list[LabelMatcher]]:
        # The smallest list of series that a name matcher (``=``, or ``=~`` not matching the
        # empty name) allows, or every series; the other matchers are returned, for the
        # caller to check per series.
        best: list[Labels] | None = None
        used: LabelMatcher | None = None
        for m in matchers:
            if m.name != NAME or m.matches(""):
                continue
            if m.op == "=":
                found = self._names.get(m.value, [])
            elif m.op == "=~":
                found = [k for value, keys in self._names.items() if m.matches(value) for k in keys]
            else:
                continue
            if best is None or len(found) < len(best):
                best, used = found, m
        rest = [m for m in matchers if m is not used]
        if best is None:
            return list(self._series), rest
        return list(best), rest

    def drop_before(self, t_ms: int) -> None:
        """Forget samples older than ``t_ms`` and series left without samples."""
        for _ in self.drop_steps(t_ms, pause_every=0):
            pass

    def drop_steps(self, t_ms: int, *, pause_every: int) -> Iterator[None]:
        """``drop_before``, yielding after every ``pause_every`` series (0: never).

        Works on a copy of the series list, so others may append while it is paused.
        """
        emptied = []
        since_pause = 0
        for key in list(self._series):  # keys only, as in ``dump``
            series = self._series.get(key)
            if series is None:
                continue
            since_pause += 1
            if since_pause == pause_every:
                since_pause = 0
                yield
            with self._lock:
                self._samples -= series.drop_before(t_ms)
            if not series.times:
                emptied.append((key, series))
        with self._lock:
            self._remove_empty(emptied)
            # Every series is past ``t_ms`` now: no chunk of a file wholly older is read again.
            self.spill.release_before(t_ms)

    def _remove_empty(self, emptied: list[tuple[Labels, Series]]) -> None:
        gone: dict[str, set[int]] = {}
        uses = self._pair_uses
        for key, series in emptied:
            if series.times or self._series.get(key) is not series:
                continue  # appended to again while paused
            del self._series[key]
            self._generation += 1
            self._forget_selections(key)
            gone.setdefault(_name_of(key), set()).add(id(key))
            for pair in key:
                uses[pair] -= 1
                if not uses[pair]:
                    del uses[pair]
                    self._pairs.pop(pair, None)
        # The lists hold the very key objects of ``_series``: compared by identity, at once.
        for name, ids in gone.items():
            kept = [k for k in self._names[name] if id(k) not in ids]
            if kept:
                self._names[name] = kept
            else:
                del self._names[name]

    def dump(
        self, mint_ms: int, maxt_ms: int
    ) -> Iterator[tuple[Labels, Sequence[int], Sequence[float]]]:
        """Every series with its samples in the window, unsorted, stale markers included.

        Works on a copy of the series list, so the caller may pause between series (an
        ``await``) while others append; each window is copied out whole.
        """
        # Keys only: a list of new (key, series) pairs would be as many objects for the
        # garbage collector to track, all promoted while the caller pauses.
        for key in list(self._series):
            series = self._series.get(key)
            if series is None:
                continue
            with self._lock:
                found = window(series, self._decoded, mint_ms, maxt_ms)
            if found is not None:
                yield key, found[0], found[1]

    def series_count(self) -> int:
        """How many series hold at least one sample."""
        return len(self._series)

    def sample_count(self) -> int:
        """How many samples are stored in all (within the retention; slow, for tests)."""
        return self._samples - sum(series.hidden(self.spill) for series in self._series.values())

    def _window(
        self, series: Series, mint_ms: int, maxt_ms: int, *, drop_stale: bool
    ) -> tuple[Sequence[int], Sequence[float]] | None:
        """The series' samples in ``[mint_ms, maxt_ms]``, or None if there are none."""
        found = window(series, self._decoded, mint_ms, maxt_ms)
        if found is None or not (drop_stale and series.nan):
            return found
        times, values = found
        kept = [i for i in range(len(times)) if not is_stale(values[i])]
        if not kept:
            return None
        return [times[i] for i in kept], [values[i] for i in kept]


def _name_of(key: Labels) -> str:
    for name, value in key:
        if name == NAME:
            return value
    return ""


def _matches_all(
    matchers: Sequence[LabelMatcher], verdicts: list[dict[str, bool]], key: Labels
) -> bool:
    for m, memo in zip(matchers, verdicts, strict=True):
        value = ""
        for name, v in key:
            if name == m.name:
                value = v
                break
        verdict = memo.get(value)
        if verdict is None:
            verdict = memo[value] = m.matches(value)
        if not verdict:
            return False
    return True


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)
