"""The local sample store: float samples per series, in compact arrays, with a label index."""

import re
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiwatch.promql.re2 import compile_re2

Labels = tuple[tuple[str, str], ...]
"""A series' identity: ``(name, value)`` pairs sorted by name, ``__name__`` included."""

STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
"""Prometheus' staleness marker: a NaN with a bit pattern no computation produces."""

_STALE_BITS = 0x7FF0000000000002

MatchOp = Literal["=", "!=", "=~", "!~"]


def is_stale(value: float) -> bool:
    """Whether ``value`` is the staleness marker (not any other NaN)."""
    return value != value and struct.unpack("<Q", struct.pack("<d", value))[0] == _STALE_BITS  # noqa: PLR0124


@dataclass(frozen=True)
class LabelMatcher:
    """One selector matcher; regexes are fully anchored as in Prometheus."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                compiled = compile_re2(self.value)
            except ValueError as err:
                msg = f"label {self.name!r}: {err}"
                raise ValueError(msg) from None
            object.__setattr__(self, "_regex", compiled)

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` when the label is missing) satisfies this matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self._regex is not None  # set in __post_init__ for regex operators
        found = self._regex.fullmatch(value) is not None
        return found if self.op == "=~" else not found


class Storage(Protocol):
    """What the evaluator needs from a store: series and their samples in a time window."""

    def select(
        self, matchers: Sequence[LabelMatcher], mint_ms: int, maxt_ms: int
    ) -> Iterator[tuple[Labels, Sequence[int], Sequence[float]]]:
        """Series matching all ``matchers`` with their samples in ``[mint_ms, maxt_ms]``."""
        ...


class _Series:
    """Timestamps and values of one series, oldest first."""

    __slots__ = ("times", "values")

    def __init__(self) -> None:
        self.times = array("q")
        self.values = array("d")


def labels_of(mapping: Mapping[str, str]) -> Labels:
    """The canonical ``Labels`` tuple of a mapping; empty values are dropped as in Prometheus."""
    return tuple(sorted((k, v) for k, v in mapping.items() if v != ""))


class MemoryStorage:
    """An in-memory store of float samples, indexed by label name and value.

    Samples of a series must arrive in time order; appending at the newest timestamp again
    replaces that sample (a re-evaluated recording rule), appending an older one is an error.
    """

    def __init__(self) -> None:
        self._series: dict[Labels, _Series] = {}
        self._postings: dict[str, dict[str, set[Labels]]] = {}
        self._samples = 0

    def append(self, labels: Mapping[str, str], t_ms: int, value: float) -> None:
        """Add one sample; ``ValueError`` if it is older than the series' newest sample."""
        self.append_key(labels_of(labels), t_ms, value)

    def append_key(self, key: Labels, t_ms: int, value: float) -> None:
        """``append`` for labels already in canonical form (``labels_of``), skipping the sort."""
        series = self._series.get(key)
        if series is None:
            series = self._new_series(key)
        elif series.times and t_ms <= series.times[-1]:
            if t_ms == series.times[-1]:
                series.values[-1] = value
                return
            msg = (
                f"out-of-order sample for {format_labels(key)}: {t_ms} is older than "
                f"{series.times[-1]}"
            )
            raise ValueError(msg)
        series.times.append(t_ms)
        series.values.append(value)
        self._samples += 1

    def _new_series(self, key: Labels) -> _Series:
        series = _Series()
        self._series[key] = series
        for name, value in key:
            self._postings.setdefault(name, {}).setdefault(value, set()).add(key)
        return series

    def select(
        self, matchers: Sequence[LabelMatcher], mint_ms: int, maxt_ms: int
    ) -> Iterator[tuple[Labels, Sequence[int], Sequence[float]]]:
        """Series matching all ``matchers``, sorted by labels, with samples in the window.

        Series without samples in ``[mint_ms, maxt_ms]`` (both ends included) are left out.
        """
        for key in sorted(self._candidates(matchers)):
            series = self._series[key]
            lo = bisect_left(series.times, mint_ms)
            hi = bisect_right(series.times, maxt_ms)
            if lo < hi:
                yield key, series.times[lo:hi], series.values[lo:hi]

    def _candidates(self, matchers: Sequence[LabelMatcher]) -> list[Labels]:
        # Matchers that need the label to be present with a given (or matching) value are
        # answered from the postings and intersected in C; only the others (!=, !~, and
        # those that match the empty string) are checked per series, memoized per value.
        postings: list[set[Labels]] = []
        rest: list[LabelMatcher] = []
        for m in matchers:
            by_value = self._postings.get(m.name, {})
            if m.op == "=" and m.value != "":
                postings.append(by_value.get(m.value, set()))
            elif m.op == "=~" and not m.matches(""):
                found = [keys for value, keys in by_value.items() if m.matches(value)]
                postings.append(found[0] if len(found) == 1 else set().union(*found))
            else:
                rest.append(m)
        keys: Iterable[Labels]
        if postings:
            postings.sort(key=len)
            keys = postings[0].intersection(*postings[1:])
        else:
            keys = self._series.keys()
        if not rest:
            return list(keys)
        verdicts: list[dict[str, bool]] = [{} for _ in rest]
        return [key for key in keys if _matches_all(rest, verdicts, key)]

    def drop_before(self, t_ms: int) -> None:
        """Forget samples older than ``t_ms`` and series left without samples."""
        emptied = []
        for key, series in self._series.items():
            cut = bisect_left(series.times, t_ms)
            if cut == 0:
                continue
            del series.times[:cut]
            del series.values[:cut]
            self._samples -= cut
            if not series.times:
                emptied.append(key)
        for key in emptied:
            del self._series[key]
            for name, value in key:
                by_value = self._postings[name]
                by_value[value].discard(key)
                if not by_value[value]:
                    del by_value[value]
                if not by_value:
                    del self._postings[name]

    def series_count(self) -> int:
        """How many series hold at least one sample."""
        return len(self._series)

    def sample_count(self) -> int:
        """How many samples are stored in all."""
        return self._samples


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


def format_labels(labels: Labels | Mapping[str, str]) -> str:
    """Labels as Prometheus prints them: ``name{a="1", b="2"}``."""
    pairs = sorted(labels.items()) if isinstance(labels, Mapping) else list(labels)
    name = ""
    parts = []
    for k, v in pairs:
        if k == "__name__":
            name = v
        else:
            parts.append(f"{k}={_go_quote(v)}")
    return name + "{" + ", ".join(parts) + "}"


def _go_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
