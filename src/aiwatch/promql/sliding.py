"""One range query's view of a store: each selector's series read once, each step a slice.

A range query asks the store for the same selectors at every step, over windows that slide
by the step. Reading and decoding each series' samples again at every step is most of a
range query's time; ``SlidingWindows`` reads a selector's series once, over the windows of
all the steps, and answers each step with a slice (``bisect`` on the times, in C). A window
outside what was read (an ``@`` or ``offset`` that does not slide, a subquery) goes to the
store as before.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from aiwatch.promql.storage import LabelMatcher, Selected, SelectedCounters, Storage


class SlidingWindows:
    """A ``Storage`` for the steps of one range query spanning ``span_ms``."""

    def __init__(self, storage: Storage, *, span_ms: int) -> None:
        self._storage = storage
        self._span_ms = span_ms
        self._read: dict[tuple[tuple[LabelMatcher, ...], bool], tuple[int, int, Selected]] = {}
        self._counters: dict[tuple[LabelMatcher, ...], tuple[int, int, SelectedCounters]] = {}

    def select(
        self,
        matchers: Sequence[LabelMatcher],
        mint_ms: int,
        maxt_ms: int,
        *,
        drop_stale: bool = False,
    ) -> Selected:
        """The store's ``select``, from the series read at the first step."""
        key = (tuple(matchers), drop_stale)
        read = self._read.get(key)
        if read is None:
            span = (mint_ms, maxt_ms + self._span_ms)
            found = self._storage.select(matchers, *span, drop_stale=drop_stale)
            read = self._read[key] = (*span, found)
        first, last, found = read
        if mint_ms < first or maxt_ms > last:
            return self._storage.select(matchers, mint_ms, maxt_ms, drop_stale=drop_stale)
        out: Selected = []
        for labels, times, values in found:
            lo, hi = bisect_left(times, mint_ms), bisect_right(times, maxt_ms)
            if lo < hi:
                out.append((labels, times[lo:hi], values[lo:hi]))
        return out

    def select_counters(
        self, matchers: Sequence[LabelMatcher], mint_ms: int, maxt_ms: int
    ) -> SelectedCounters:
        """The store's ``select_counters``, from the series read at the first step.

        A series with no reset in all the steps has none in any; for one with resets the
        values before them are left to the caller (``None``), which compares the samples.
        """
        key = tuple(matchers)
        read = self._counters.get(key)
        if read is None:
            span = (mint_ms, maxt_ms + self._span_ms)
            found = self._storage.select_counters(matchers, *span)
            read = self._counters[key] = (*span, found)
        first, last, found = read
        if mint_ms < first or maxt_ms > last:
            return self._storage.select_counters(matchers, mint_ms, maxt_ms)
        out: SelectedCounters = []
        for labels, times, values, resets in found:
            lo, hi = bisect_left(times, mint_ms), bisect_right(times, maxt_ms)
            if lo < hi:
                known = () if resets is not None and not resets else None
                out.append((labels, times[lo:hi], values[lo:hi], known))
        return out
