"""The nodes of the all-steps range engine: range functions, aggregations, binary
operators and ``histogram_quantile``, each over a series × steps ``Block``.

Each reproduces the step-wise engine's floating-point operations in its order; where that
would need per-step Python anyway (a counter reset in the window, an irregular bucket set),
the step-wise function itself computes that one value.
"""

from collections.abc import Callable

import numpy as np

from aiwatch.promql.aggregations import _group_key as group_key
from aiwatch.promql.binary import _DROPS_NAME, _result_labels, signature
from aiwatch.promql.blocks import (
    Block,
    Floats,
    Ints,
    Mask,
    Query,
    Unsupported,
    Value,
    drop_names,
    unique,
)
from aiwatch.promql.functions import _bucket_bound
from aiwatch.promql.numerics import bucket_quantile
from aiwatch.promql.pacing import give_way
from aiwatch.promql.storage import Labels
from aiwatch.promql.syntax import Aggregate, Binary, MatrixSelector
from aiwatch.promql.values import drop_name

# ---- range functions ------------------------------------------------------------------


def range_function(query: Query, func: str, arg: MatrixSelector) -> Block:
    """``rate``/``increase``/``delta``/``irate``/``idelta`` of a range selector: each series'
    window edges found per series, the arithmetic done for all series and steps at once."""
    sel = arg.selector
    ends = query.steps - sel.offset_ms
    starts = ends - arg.range_ms
    mint, maxt = int(starts[0]), int(ends[-1])
    if func in ("rate", "increase"):
        found = [
            (k, t, v) for k, t, v, _ in query.storage.select_counters(sel.matchers, mint, maxt)
        ]
    else:
        found = query.storage.select(sel.matchers, mint, maxt, drop_stale=True)
    edges = _Edges((len(found), len(ends)))
    for i, (_, times, vals) in enumerate(found):
        if not i % 64:
            query.budget.check()
            give_way()
        edges.add(i, (starts, ends), times, vals, counter=func in ("rate", "increase"))
    query.loaded += edges.count.sum(axis=0)
    if func in ("irate", "idelta"):
        values, present = _instant(edges, is_rate=func == "irate")
    else:
        values, present = _extrapolated(edges, starts, ends, func=func, range_ms=arg.range_ms)
    return Block(drop_names([k for k, _, _ in found]), values, present)


class _Edges:
    """Per series and step: how many samples the window holds, its first, last and
    next-to-last samples, and the exact change where a counter resets inside it."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.count = np.zeros(shape, dtype=np.int64)
        self.first, self.last, self.prev = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self.t0 = np.zeros(shape, dtype=np.int64)
        self.t1 = np.zeros(shape, dtype=np.int64)
        self.tprev = np.zeros(shape, dtype=np.int64)
        self.resets: list[tuple[int, Ints, Floats]] = []

    def add(
        self, i: int, window: tuple[Ints, Ints], times: object, vals: object, *, counter: bool
    ) -> None:
        """Series ``i``'s samples."""
        t = np.asarray(times, dtype=np.int64)
        v = np.asarray(vals, dtype=np.float64)
        if not len(t):
            return
        lo = np.searchsorted(t, window[0], side="left")
        hi = np.searchsorted(t, window[1], side="right")
        self.count[i] = hi - lo
        fi, li, pi = np.minimum(lo, len(t) - 1), np.maximum(hi - 1, 0), np.maximum(hi - 2, 0)
        self.first[i], self.last[i], self.prev[i] = v[fi], v[li], v[pi]
        self.t0[i], self.t1[i], self.tprev[i] = t[fi], t[li], t[pi]
        if counter and len(v) > 1:
            drops = np.concatenate(([0], np.cumsum(v[1:] < v[:-1])))
            cells = np.flatnonzero((hi - lo >= 2) & (drops[li] > drops[fi]))
            if len(cells):
                self.resets.append((i, cells, _with_resets(v, fi[cells], li[cells])))


def _with_resets(v: Floats, firsts: Ints, lasts: Ints) -> Floats:
    """The change over each window ``v[first..last]`` with the value before each reset
    added in time order, as ``extrapolated_rate`` adds them."""
    out = np.zeros(len(firsts))
    for n, (first, last) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        window = v[first : last + 1].tolist()
        total = window[-1] - window[0]
        prev = window[0]
        for current in window:
            if current < prev:
                total += prev
            prev = current
        out[n] = total
    return out


def _extrapolated(
    edges: _Edges, starts: Ints, ends: Ints, *, func: str, range_ms: int
) -> tuple[Floats, Mask]:
    """``extrapolated_rate`` at every series and step, in its order of operations."""
    n = edges.count
    present = n >= 2
    first = edges.first
    result = edges.last - first
    is_counter = func != "delta"
    if is_counter:
        for i, cells, totals in edges.resets:
            result[i, cells] = totals
    to_start = (edges.t0 - starts) / 1000
    to_end = (ends - edges.t1) / 1000
    sampled = (edges.t1 - edges.t0) / 1000
    gap = sampled / (n - 1)
    if is_counter:
        to_zero = sampled * (first / result)
        clip = (result > 0) & (first >= 0) & (to_zero < to_start)
        to_start = np.where(clip, to_zero, to_start)
    threshold = gap * 1.1
    interval = sampled + np.where(to_start < threshold, to_start, gap / 2)
    interval = interval + np.where(to_end < threshold, to_end, gap / 2)
    factor = interval / sampled
    if func == "rate":
        factor = factor / (range_ms / 1000)
    return result * factor, present


def _instant(edges: _Edges, *, is_rate: bool) -> tuple[Floats, Mask]:
    """``instant_change`` (``irate``/``idelta``) at every series and step."""
    last, previous = edges.last, edges.prev
    result = np.where(last < previous, last, last - previous) if is_rate else last - previous
    gap = edges.t1 - edges.tprev
    present = (edges.count >= 2) & (gap != 0)
    if is_rate:
        result = result / (gap / 1000)
    return result, present


# ---- aggregations ---------------------------------------------------------------------


def aggregate(expr: Aggregate, block: Value) -> Block:
    """``sum``/``avg``/``min``/``max``/``count`` by or without labels, the members of each
    group added in the step-wise engine's order."""
    if not isinstance(block, Block) or not block.ordered:
        raise Unsupported
    grouping = sorted(expr.grouping)
    groups: dict[Labels, list[int]] = {}
    for i, labels in enumerate(block.labels):
        groups.setdefault(group_key(labels, grouping, without=expr.without), []).append(i)
    keys = list(groups)
    members = list(groups.values())
    steps = block.values.shape[1]
    acc = np.zeros((len(keys), steps))
    seen = np.zeros((len(keys), steps), dtype=np.bool_)
    count = np.zeros((len(keys), steps))
    step = _ACCUMULATE[expr.op]
    for k in range(max(map(len, members), default=0)):
        give_way()
        gi = np.array([g for g, rows in enumerate(members) if len(rows) > k], dtype=np.intp)
        ri = np.array([members[g][k] for g in gi], dtype=np.intp)
        v, p = block.values[ri], block.present[ri]
        a, q, c = acc[gi], seen[gi], count[gi]
        c = c + p
        acc[gi] = np.where(p, np.where(q, step(a, v, c), v), a)
        seen[gi], count[gi] = q | p, c
    if expr.op == "count":
        acc = count
    firsts = np.array([rows[0] for rows in members], dtype=np.intp)
    ordered = bool((block.present[firsts] == seen).all()) if keys else True
    return Block(keys, acc, seen, ordered=ordered)


def _avg_step(mean: Floats, v: Floats, c: Floats) -> Floats:
    skip = np.isinf(mean) & ((np.isinf(v) & ((mean > 0) == (v > 0))) | ~(np.isinf(v) | np.isnan(v)))
    return np.where(skip, mean, mean + (v / c - mean / c))


_ACCUMULATE: dict[str, Callable[[Floats, Floats, Floats], Floats]] = {
    "sum": lambda a, v, _c: a + v,
    "avg": _avg_step,
    "max": lambda a, v, _c: np.where((a < v) | np.isnan(a), v, a),
    "min": lambda a, v, _c: np.where((a > v) | np.isnan(a), v, a),
    "count": lambda a, _v, _c: a,
}


# ---- binary operators -----------------------------------------------------------------

_ARITHMETIC: dict[str, Callable[[Floats, Floats], Floats]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
}
_COMPARISON: dict[str, Callable[[Floats, Floats], Mask]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def binary(expr: Binary, lhs: Value, rhs: Value) -> Value:
    """An arithmetic or comparison operator between scalars and/or vectors."""
    op = expr.op
    if not isinstance(lhs, Block) and not isinstance(rhs, Block):
        if op in _COMPARISON:
            return _COMPARISON[op](lhs, rhs).astype(np.float64)
        return _ARITHMETIC[op](lhs, rhs)
    if isinstance(lhs, Block) and isinstance(rhs, Block):
        return unique(_vector_vector(expr, lhs, rhs))
    block, scalar = (lhs, rhs) if isinstance(lhs, Block) else (rhs, lhs)
    assert isinstance(block, Block)
    assert isinstance(scalar, np.ndarray)
    left, right = (block.values, scalar) if block is lhs else (scalar, block.values)
    values, present = _element_op(op, left, right, block.values, expr.return_bool)
    drops = op in _DROPS_NAME or expr.return_bool
    labels = drop_names(block.labels) if drops else block.labels
    return unique(Block(labels, values, block.present & present, ordered=block.ordered))


def _element_op(
    op: str, left: Floats, right: Floats, kept: Floats, return_bool: bool
) -> tuple[Floats, Mask]:
    """The value of ``left op right`` and where it is kept (comparisons filter unless
    ``bool``; a kept comparison keeps ``kept``, the vector's value)."""
    if op in _ARITHMETIC:
        values = _ARITHMETIC[op](left, right)
        return values, np.ones(values.shape, dtype=np.bool_)
    keep = _COMPARISON[op](left, right)
    if return_bool:
        return keep.astype(np.float64), np.ones(keep.shape, dtype=np.bool_)
    return np.broadcast_to(kept, keep.shape), keep


def _vector_vector(expr: Binary, lhs: Block, rhs: Block) -> Block:
    """One-to-one matching; any duplicate on either side that meets at a step is left to
    the step-wise engine (its error)."""
    matching = expr.matching
    assert matching is not None  # set by the parser whenever both sides are vectors
    partners: dict[Labels, int] = {}
    for j, rhs_labels in enumerate(rhs.labels):
        sig = signature(rhs_labels, matching)
        if sig in partners:
            raise Unsupported
        partners[sig] = j
    li, ri, seen = [], [], set()
    for i, lhs_labels in enumerate(lhs.labels):
        sig = signature(lhs_labels, matching)
        partner = partners.get(sig)
        if partner is None:
            continue
        if sig in seen:
            raise Unsupported
        seen.add(sig)
        li.append(i)
        ri.append(partner)
    lv, rv = lhs.values[li], rhs.values[ri]
    values, keep = _element_op(expr.op, lv, rv, lv, expr.return_bool)
    present = lhs.present[li] & rhs.present[ri] & keep
    labels = [_result_labels(lhs.labels[i], (), expr.op, matching) for i in li]
    if expr.return_bool:
        labels = drop_names(labels)
    return Block(labels, np.array(values), present, ordered=lhs.ordered)


# ---- histogram_quantile ---------------------------------------------------------------


def histogram_quantile(q: Floats, block: Block) -> Block:
    """The φ-quantile of each bucket set at every step: whole steps at once where the set
    is complete and regular, ``bucket_quantile`` itself elsewhere."""
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, row_labels in enumerate(block.labels):
        le = next((value for name, value in row_labels if name == "le"), None)
        bound = _bucket_bound(le) if le is not None else None
        if bound is None:
            continue
        key = tuple(p for p in row_labels if p[0] != "le")
        groups.setdefault(key, []).append((bound, i))
    steps = block.values.shape[1]
    out = np.full((len(groups), steps), np.nan)
    seen = np.zeros((len(groups), steps), dtype=np.bool_)
    firsts = []
    for g, buckets in enumerate(groups.values()):
        give_way()
        firsts.append(buckets[0][1])
        seen[g] = block.present[[i for _, i in buckets]].any(axis=0)
        out[g] = _group_quantile(q, block, sorted(buckets, key=lambda b: b[0]))
    ordered = block.ordered and bool((block.present[firsts] == seen).all())
    labels = [drop_name(key) for key in groups]
    return Block(labels, out, seen, ordered=ordered)


def _group_quantile(q: Floats, block: Block, buckets: list[tuple[float, int]]) -> Floats:
    """One bucket set's quantile at every step where any of its buckets has a value."""
    rows = [i for _, i in buckets]
    present = block.present[rows]
    bounds = np.array([b for b, _ in buckets])
    counts = block.values[rows]
    complete = present.all(axis=0)
    distinct = len(set(bounds.tolist())) == len(bounds)
    regular = (
        ~np.isnan(counts).any(axis=0)
        & ~(np.signbit(counts) & (counts == 0)).any(axis=0)
        & ~np.isnan(q)
        & (q >= 0)
        & (q <= 1)
    )
    fast = complete & regular if distinct else np.zeros(len(q), dtype=np.bool_)
    out = _quantiles(q, bounds, counts) if fast.any() else np.full(len(q), np.nan)
    slow = np.flatnonzero(present.any(axis=0) & ~fast)
    if len(slow) and not block.ordered and not distinct:
        raise Unsupported  # equal bounds are added in the step-wise order, unknown here
    unsorted = sorted(range(len(rows)), key=rows.__getitem__)
    for s in slow:
        pairs = [(float(bounds[k]), float(counts[k, s])) for k in unsorted if present[k, s]]
        out[s] = bucket_quantile(float(q[s]), pairs)
    return out


def _quantiles(q: Floats, bounds: Floats, counts: Floats) -> Floats:
    """``bucket_quantile`` for distinct sorted ``bounds``, no NaN count, ``0 <= q <= 1``."""
    m = len(bounds)
    if m < 2 or not np.isinf(bounds[-1]) or bounds[-1] < 0:
        return np.full(len(q), np.nan)
    cum = np.maximum.accumulate(counts, axis=0)
    observations = cum[-1]
    rank = q * observations
    ge = cum[: m - 1] >= rank
    b = np.where(ge.any(axis=0), ge.argmax(axis=0), m - 1)
    cols = np.arange(len(q))
    prev = np.maximum(b - 1, 0)
    end = bounds[b]
    start = np.where(b > 0, bounds[prev], 0.0)
    count = np.where(b > 0, cum[b, cols] - cum[prev, cols], cum[b, cols])
    below = np.where(b > 0, rank - cum[prev, cols], rank)
    result = start + (end - start) * (below / count)
    result = np.where((b == 0) & (bounds[0] <= 0), bounds[0], result)
    result = np.where(b == m - 1, bounds[m - 2], result)
    return np.where(observations == 0, np.nan, result)
