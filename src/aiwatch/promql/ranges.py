"""Range queries, and instant queries whose result is a range vector, over a ``Storage``.

A range query is the instant query evaluated at ``start``, ``start + step``, … up to ``end``
(Prometheus' semantics: the times are not aligned to the step here; clients such as Grafana
align them), its results gathered into one series per label set.
"""

from array import array
from dataclasses import fields, is_dataclass, replace
from typing import Any

from aiwatch.gcpause import collections_paused
from aiwatch.promql.engine import Evaluator, instant_query
from aiwatch.promql.limits import Budget
from aiwatch.promql.sliding import SlidingWindows
from aiwatch.promql.storage import Labels, Storage, labels_of
from aiwatch.promql.syntax import At, Expr
from aiwatch.promql.values import PromQLError, RangeVec, Scalar, String, Vector

MAX_POINTS = 11_000
"""Points per series a range query may ask for, as Prometheus' API bounds them."""

Matrix = list[tuple[Labels, "array[int]", "array[float]"]]
"""Series of a range query: labels, times (ms) and values, sorted by labels."""


def pin_at(node: Any, start_ms: int, end_ms: int) -> Any:
    """``node`` with each ``@ start()``/``@ end()`` replaced by the query's start or end."""
    if isinstance(node, At):
        if node.kind == "at":
            return node
        return At("at", start_ms if node.kind == "start" else end_ms)
    if isinstance(node, tuple):
        items = tuple(pin_at(item, start_ms, end_ms) for item in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in fields(node):
            if not f.init:
                continue
            old = getattr(node, f.name)
            new = pin_at(old, start_ms, end_ms)
            if new is not old:
                changes[f.name] = new
        return replace(node, **changes) if changes else node
    return node


def instant_or_matrix(
    expr: Expr,
    storage: Storage,
    t_ms: int,
    *,
    lookback_ms: int,
    subquery_step_ms: int,
    budget: Budget,
) -> Vector | Scalar | String | RangeVec:
    """An instant query; a range-vector expression (``x[5m]``) gives its samples."""
    if expr.type != "matrix":
        return instant_query(
            expr,
            storage,
            t_ms,
            lookback_ms=lookback_ms,
            subquery_step_ms=subquery_step_ms,
            budget=budget,
        )
    evaluator = Evaluator(
        storage,
        t_ms,
        lookback_ms=lookback_ms,
        subquery_step_ms=subquery_step_ms,
        budget=budget,
    )
    with collections_paused():
        value = evaluator.eval(expr, t_ms)
    assert isinstance(value, list)
    return value  # type: ignore[return-value]


def range_query(
    expr: Expr,
    storage: Storage,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    *,
    lookback_ms: int,
    subquery_step_ms: int,
    budget: Budget,
    all_steps: bool = True,
) -> Matrix:
    """``expr`` at every step from ``start_ms`` to ``end_ms``; ``PromQLError`` if not vector
    or scalar.

    As in Prometheus, the sample limit counts the points held at once: the result so far
    and what one step loads. ``all_steps``: evaluate the expressions ``rangevec`` covers over
    all steps at once (False: every expression step by step, as a baseline to compare).
    """
    if expr.type not in ("vector", "scalar"):
        kind = "range vector" if expr.type == "matrix" else expr.type
        msg = f'invalid expression type "{kind}" for range query, must be Scalar or instant Vector'
        raise PromQLError(msg)
    tree = pin_at(expr, start_ms, end_ms)
    steps = range(start_ms, end_ms + 1, step_ms)
    vectorised = _all_steps(tree, storage, steps, lookback_ms, budget) if all_steps else None
    if vectorised is not None:
        return vectorised
    storage = SlidingWindows(storage, span_ms=end_ms - start_ms)
    series: dict[Labels, tuple[array[int], array[float]]] = {}
    canonical: dict[tuple[tuple[str, str], ...], Labels] = {}
    points = 0
    for t_ms in steps:
        budget.check()
        budget.samples = points
        value = instant_query(
            tree,
            storage,
            t_ms,
            lookback_ms=lookback_ms,
            subquery_step_ms=subquery_step_ms,
            budget=budget,
        )
        found = [((), value.value)] if isinstance(value, Scalar) else _pairs(value, canonical)
        for labels, v in found:
            got = series.get(labels)
            if got is None:
                got = series[labels] = (array("q"), array("d"))
            got[0].append(t_ms)
            got[1].append(v)
        points += len(found)
    return [(labels, *series[labels]) for labels in sorted(series)]


def _all_steps(
    tree: Expr, storage: Storage, steps: range, lookback_ms: int, budget: Budget
) -> Matrix | None:
    """The query evaluated over all steps at once, or None when it is left to the steps."""
    from aiwatch.promql import rangevec

    try:
        return rangevec.range_query(tree, storage, steps, lookback_ms=lookback_ms, budget=budget)
    except rangevec.Unsupported:
        budget.samples = 0
        return None


def _pairs(
    value: Vector | String, canonical: dict[tuple[tuple[str, str], ...], Labels]
) -> list[tuple[Labels, float]]:
    """Each sample's labels, sorted, and value; ``canonical`` remembers the sorted labels of
    each label dict seen at an earlier step (the same series comes back at every step)."""
    assert isinstance(value, list)  # a string expression was refused above
    out = []
    for sample in value:
        items = tuple(sample.labels.items())
        labels = canonical.get(items)
        if labels is None:
            labels = canonical[items] = labels_of(sample.labels)
        out.append((labels, sample.value))
    return out
