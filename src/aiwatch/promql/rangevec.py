"""Range queries evaluated over all steps at once: each node a series × steps matrix.

The step-wise range query evaluates the instant query at every step, costing Python work
per series and step. Here every node of the expression is evaluated once for all the steps:
a ``Block`` holds one row per series, its values at every step and whether the series has a
value there; NumPy does the arithmetic of a whole row (or of all rows) at once. Only the
nodes the bundled dashboards and common panels use are covered (see ``SUPPORTED_*``); any
other node, and any input the step-wise engine answers with an error, raises
``Unsupported`` and the caller evaluates the query step by step instead. The values are the
step-wise engine's bit for bit: the same floating-point operations in the same order
(sums add the series in the order the step-wise engine meets them).

This module imports NumPy; import it only where a range query runs.
"""

from array import array

import numpy as np

from aiwatch.promql import rangevec_ops as ops
from aiwatch.promql.blocks import (
    RATES,
    SUPPORTED_AGGREGATIONS,
    SUPPORTED_OPERATORS,
    Block,
    Floats,
    Ints,
    Mask,
    Query,
    Unsupported,
    Value,
    unique,
)
from aiwatch.promql.limits import Budget
from aiwatch.promql.pacing import give_way
from aiwatch.promql.storage import STALE_BITS, Labels, Storage
from aiwatch.promql.syntax import (
    Aggregate,
    Binary,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    Paren,
    VectorSelector,
    unwrap,
)

__all__ = ["Unsupported", "range_query", "supported"]


def supported(expr: Expr) -> bool:
    """Whether every node of ``expr`` is one this engine evaluates."""
    match expr:
        case NumberLiteral():
            return True
        case Paren():
            return supported(expr.expr)
        case VectorSelector():
            return expr.at is None
        case Aggregate():
            return expr.op in SUPPORTED_AGGREGATIONS and supported(expr.expr)
        case Binary():
            return _supported_binary(expr)
        case Call():
            return _supported_call(expr)
    return False


def _supported_binary(expr: Binary) -> bool:
    if expr.op not in SUPPORTED_OPERATORS:
        return False
    m = expr.matching
    if m is not None and (m.card != "one-to-one" or m.include):
        return False
    return supported(expr.lhs) and supported(expr.rhs)


def _supported_call(expr: Call) -> bool:
    if expr.func == "time":
        return True
    if expr.func == "histogram_quantile":
        return supported(expr.args[0]) and supported(expr.args[1])
    if expr.func in RATES:
        arg = unwrap(expr.args[0])
        return isinstance(arg, MatrixSelector) and arg.selector.at is None
    return False


Matrix = list[tuple[Labels, "array[int]", "array[float]"]]


def range_query(
    expr: Expr,
    storage: Storage,
    steps: range,
    *,
    lookback_ms: int,
    budget: Budget,
) -> Matrix:
    """``expr`` (a vector or scalar expression) at every time of ``steps``, as the step-wise
    engine's result; ``Unsupported`` when it is left to that engine."""
    if not supported(expr):
        raise Unsupported
    times = np.arange(steps.start, steps.stop, steps.step, dtype=np.int64)
    query = Query(storage, times, lookback_ms, budget, np.zeros(len(times), dtype=np.int64))
    with np.errstate(all="ignore"):
        value = evaluate(query, expr)
    if isinstance(value, Block):
        rows = _merge_rows(value)
    else:
        rows = [((), value, np.ones(len(times), dtype=np.bool_))]
    _check_samples(query, rows)
    return [
        (labels, array("q", times[mask].tobytes()), array("d", vals[mask].tobytes()))
        for labels, vals, mask in rows
        if mask.any()
    ]


def _merge_rows(block: Block) -> list[tuple[Labels, Floats, Mask]]:
    """Rows sorted by labels, rows of one label set (never present at once) merged."""
    merged: dict[Labels, tuple[Floats, Mask]] = {}
    for i, labels in enumerate(block.labels):
        vals, mask = block.values[i], block.present[i]
        got = merged.get(labels)
        if got is not None:
            if (got[1] & mask).any():
                raise Unsupported
            vals, mask = np.where(mask, vals, got[0]), got[1] | mask
        merged[labels] = (vals, mask)
    return [(labels, *merged[labels]) for labels in sorted(merged)]


def _check_samples(query: Query, rows: list[tuple[Labels, Floats, Mask]]) -> None:
    """The sample limit as the step-wise engine applies it: at each step, the points of the
    result so far plus the samples that step loads."""
    budget = query.budget
    per_step = np.zeros(len(query.steps), dtype=np.int64)
    for _, _, mask in rows:
        per_step += mask
    before = np.concatenate(([0], np.cumsum(per_step)[:-1]))
    held = before + query.loaded
    over = np.flatnonzero(held > budget.max_samples)
    budget.check()
    if len(over):
        budget.samples = int(before[over[0]])
        budget.add(int(query.loaded[over[0]]))
    budget.samples = int(held.max(initial=0))


def evaluate(query: Query, expr: Expr) -> Value:
    """The value of ``expr`` at every step."""
    query.budget.check()
    give_way()
    match expr:
        case NumberLiteral():
            return np.full(len(query.steps), expr.value, dtype=np.float64)
        case Paren():
            return evaluate(query, expr.expr)
        case VectorSelector():
            return vector_selector(query, expr)
        case Aggregate():
            return ops.aggregate(expr, evaluate(query, expr.expr))
        case Binary():
            return ops.binary(expr, evaluate(query, expr.lhs), evaluate(query, expr.rhs))
        case Call():
            return _call(query, expr)
    raise Unsupported


def _call(query: Query, call: Call) -> Value:
    if call.func == "time":
        return query.steps / 1000
    if call.func == "histogram_quantile":
        q = evaluate(query, call.args[0])
        block = evaluate(query, call.args[1])
        if not isinstance(q, np.ndarray) or not isinstance(block, Block):
            raise Unsupported
        return unique(ops.histogram_quantile(q, block))
    arg = unwrap(call.args[0])
    assert isinstance(arg, MatrixSelector)
    return unique(ops.range_function(query, call.func, arg))


def _as_arrays(times: object, values: object) -> tuple[Ints, Floats]:
    return np.asarray(times, dtype=np.int64), np.asarray(values, dtype=np.float64)


def vector_selector(query: Query, sel: VectorSelector) -> Block:
    """The newest sample of each series within the lookback before every step; none where
    that sample is a staleness marker."""
    refs = query.steps - sel.offset_ms
    lows = refs - query.lookback_ms
    found = query.storage.select(sel.matchers, int(lows[0]), int(refs[-1]))
    n = len(found)
    values = np.zeros((n, len(refs)), dtype=np.float64)
    present = np.zeros((n, len(refs)), dtype=np.bool_)
    labels = []
    for i, (key, times, vals) in enumerate(found):
        if not i % 64:
            query.budget.check()
            give_way()
        t, v = _as_arrays(times, vals)
        labels.append(key)
        if not len(t):
            continue
        last = np.searchsorted(t, refs, side="right") - 1
        idx = np.maximum(last, 0)
        values[i] = v[idx]
        stale = v.view(np.uint64)[idx] == STALE_BITS
        present[i] = (last >= 0) & (t[idx] >= lows) & ~stale
    query.loaded += present.sum(axis=0)
    return Block(labels, values, present)
