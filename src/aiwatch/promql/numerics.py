"""Floating-point helpers that reproduce Prometheus' order of operations."""

import math
from collections.abc import Callable, Sequence

from aiwatch.promql.arith import div


def kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    """One step of Neumaier's compensated sum, as Prometheus' ``kahanSumInc``."""
    t = total + inc
    if abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def quantile(q: float, values: Sequence[float]) -> float:
    """The φ-quantile of ``values`` with linear interpolation between closest ranks."""
    if not values or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values, key=_nan_first)
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


def _nan_first(v: float) -> tuple[int, float]:
    return (0, 0.0) if math.isnan(v) else (1, v)


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """``histogram_quantile`` over classic ``(upper_bound, cumulative_count)`` buckets."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    buckets = _monotonic(_coalesce(buckets))
    if len(buckets) < 2:
        return math.nan
    observations = buckets[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = _search(len(buckets) - 1, lambda i: buckets[i][1] >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start = 0.0
    end, count = buckets[b]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * div(rank, count)


def _search(n: int, pred: Callable[[int], bool]) -> int:
    """The smallest ``i`` in ``[0, n)`` with ``pred(i)``, or ``n`` (Go's ``sort.Search``)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if not pred(mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _coalesce(buckets: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for bound, count in buckets:
        if out and out[-1][0] == bound:
            out[-1] = (bound, out[-1][1] + count)
        else:
            out.append((bound, count))
    return out


def _monotonic(buckets: list[tuple[float, float]]) -> list[tuple[float, float]]:
    top = buckets[0][1]
    out = [buckets[0]]
    for bound, count in buckets[1:]:
        if count > top:
            top = count
        elif count < top:
            count = top  # noqa: PLW2901 - cumulative counts never go down
        out.append((bound, count))
    return out


class GoHeap:
    """Go's ``container/heap`` over a list, so ties are broken exactly as Prometheus does."""

    def __init__(self, items: list[tuple[float, int]], less: Callable[[float, float], bool]):
        self.items = items
        self._less = less

    def _lt(self, i: int, j: int) -> bool:
        return self._less(self.items[i][0], self.items[j][0])

    def _swap(self, i: int, j: int) -> None:
        self.items[i], self.items[j] = self.items[j], self.items[i]

    def push(self, item: tuple[float, int]) -> None:
        """Append ``item`` and sift it up."""
        self.items.append(item)
        j = len(self.items) - 1
        while True:
            i = (j - 1) // 2
            if j <= 0 or i == j or not self._lt(j, i):
                break
            self._swap(i, j)
            j = i

    def pop(self) -> tuple[float, int]:
        """Remove and return the top item."""
        n = len(self.items) - 1
        self._swap(0, n)
        self._down(0, n)
        return self.items.pop()

    def _down(self, i0: int, n: int) -> None:
        i = i0
        while True:
            j1 = 2 * i + 1
            if j1 >= n:
                break
            j = j1
            j2 = j1 + 1
            if j2 < n and self._lt(j2, j1):
                j = j2
            if not self._lt(j, i):
                break
            self._swap(i, j)
            i = j
