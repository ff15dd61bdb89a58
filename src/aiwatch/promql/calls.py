"""Function-call evaluation: argument handling and dispatch to the function modules."""

import functools
import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Protocol

from aiwatch.promql import functions as fn
from aiwatch.promql import range_functions as rf
from aiwatch.promql.limits import Budget
from aiwatch.promql.pacing import EVERY, give_way
from aiwatch.promql.storage import Labels, Storage, is_stale
from aiwatch.promql.syntax import (
    At,
    Call,
    Expr,
    MatrixSelector,
    StringLiteral,
    Subquery,
    VectorSelector,
    unwrap,
)
from aiwatch.promql.values import InstantVec, RangeVec, Value, check_unique, drop_name


class Evaluator(Protocol):
    """What function calls need from the evaluator (``engine.Evaluator`` implements it)."""

    storage: Storage
    lookback_ms: int
    budget: Budget

    def eval(self, expr: Expr, t_ms: int) -> Value:
        """The value of ``expr`` at ``t_ms``."""

    def eval_vector(self, expr: Expr, t_ms: int) -> InstantVec:
        """The value of an instant-vector expression."""

    def eval_scalar(self, expr: Expr, t_ms: int) -> float:
        """The value of a scalar expression."""

    def base_time(self, at: At | None, t_ms: int) -> int:
        """The time a selector or subquery looks from."""

    def vector_selector_with_times(
        self, sel: VectorSelector, t_ms: int, *, ref_ms: int | None = None
    ) -> list[tuple[Labels, float, int]]:
        """The selected samples with each sample's own timestamp."""

    def matrix_selector(self, sel: MatrixSelector, t_ms: int) -> RangeVec:
        """Each series' non-stale samples in the selector's window."""

    def subquery_window(self, sq: Subquery, t_ms: int) -> tuple[int, int]:
        """The ``(start, end)`` of the range a subquery covers."""

    def subquery(self, sq: Subquery, t_ms: int) -> RangeVec:
        """The inner expression evaluated at every step-aligned time of the window."""


def evaluate(ev: Evaluator, call: Call, t_ms: int) -> Value:
    """The value of ``call`` at ``t_ms``."""
    name = call.func
    if name in ("time", "pi", "scalar"):
        return _scalar_function(ev, call, t_ms)
    if name == "timestamp":
        out = _timestamp(ev, call.args[0], t_ms)
    elif any(unwrap(a).type == "matrix" for a in call.args):
        out = _range_function(ev, call, t_ms)
    else:
        out = _vector_function(ev, call, t_ms)
    check_unique(out)
    return out


def _scalar_function(ev: Evaluator, call: Call, t_ms: int) -> float:
    if call.func == "time":
        return t_ms / 1000
    if call.func == "pi":
        return math.pi
    return fn.scalar_of(ev.eval_vector(call.args[0], t_ms))


def _timestamp(ev: Evaluator, arg: Expr, t_ms: int) -> InstantVec:
    sel = unwrap(arg)
    if isinstance(sel, VectorSelector):
        # The samples' own timestamps, not the evaluation time, for a plain selector.
        if sel.at is not None:
            return _timestamp_at(ev, sel, t_ms)
        elems = ev.vector_selector_with_times(sel, t_ms)
        return [(drop_name(labels), ts / 1000) for labels, _, ts in elems]
    return [(drop_name(labels), t_ms / 1000) for labels, _ in ev.eval_vector(arg, t_ms)]


def _timestamp_at(ev: Evaluator, sel: VectorSelector, t_ms: int) -> InstantVec:
    """``timestamp(x @ t offset d)`` as Prometheus 2.42 computes it.

    It fetches samples for ``t - d`` but then looks for the newest one at or before ``t``
    itself, within the lookback of ``t``; reproduced so that results agree.
    """
    at_ms = ev.base_time(sel.at, t_ms)
    window_end = at_ms - sel.offset_ms
    out: InstantVec = []
    for labels, times, values in ev.storage.select(
        sel.matchers, window_end - ev.lookback_ms, window_end
    ):
        last = bisect_right(times, at_ms) - 1
        if last >= 0 and times[last] >= at_ms - ev.lookback_ms and not is_stale(values[last]):
            out.append((drop_name(labels), times[last] / 1000))
    ev.budget.add(len(out))
    return out


def _string_arg(arg: Expr) -> str:
    lit = unwrap(arg)
    assert isinstance(lit, StringLiteral)
    return lit.value


def _vector_function(ev: Evaluator, call: Call, t_ms: int) -> InstantVec:
    name, args = call.func, call.args
    if name in fn.ELEMENTWISE:
        return fn.elementwise(fn.ELEMENTWISE[name], ev.eval_vector(args[0], t_ms))
    if name in fn.DATE_FUNCTIONS:
        if not args:
            return [
                ((), fn.date_part(name, float((t_ms // 1000) if t_ms >= 0 else -(-t_ms // 1000))))
            ]
        return [(drop_name(lb), fn.date_part(name, v)) for lb, v in ev.eval_vector(args[0], t_ms)]
    if name == "vector":
        return [((), ev.eval_scalar(args[0], t_ms))]
    if name in ("deg", "rad"):
        factor = (180, math.pi) if name == "deg" else (math.pi, 180)
        vec = ev.eval_vector(args[0], t_ms)
        return [(drop_name(lb), v * factor[0] / factor[1]) for lb, v in vec]
    if name in ("histogram_count", "histogram_sum", "histogram_fraction"):
        # Only native histograms have these; the store holds floats, so nothing matches.
        for arg in args:
            ev.eval(arg, t_ms)
        return []
    return _other_vector_function(ev, call, t_ms)


def _other_vector_function(ev: Evaluator, call: Call, t_ms: int) -> InstantVec:
    name, args = call.func, call.args
    if name == "absent":
        if ev.eval_vector(args[0], t_ms):
            return []
        return [(_absent_labels(args[0]), 1.0)]
    if name == "histogram_quantile":
        q = ev.eval_scalar(args[0], t_ms)
        return fn.histogram_quantile(q, ev.eval_vector(args[1], t_ms))
    if name == "label_replace":
        s = [_string_arg(a) for a in args[1:]]
        return fn.label_replace(ev.eval_vector(args[0], t_ms), s[0], s[1], s[2], s[3])
    if name == "label_join":
        s = [_string_arg(a) for a in args[1:]]
        return fn.label_join(ev.eval_vector(args[0], t_ms), s[0], s[1], s[2:])
    if name in ("sort", "sort_desc"):
        return fn.sort_vector(ev.eval_vector(args[0], t_ms), descending=name == "sort_desc")
    vec = ev.eval_vector(args[0], t_ms)
    scalars = [ev.eval_scalar(a, t_ms) for a in args[1:]]
    if name == "clamp":
        return fn.clamp(vec, scalars[0], scalars[1])
    if name == "clamp_min":
        return fn.clamp_min(vec, scalars[0])
    if name == "clamp_max":
        return fn.clamp_max(vec, scalars[0])
    assert name == "round", name
    return fn.round_to(vec, scalars[0] if scalars else 1.0)


def _absent_labels(arg: Expr) -> Labels:
    sel = unwrap(arg)
    if isinstance(sel, MatrixSelector):
        sel = sel.selector
    if not isinstance(sel, VectorSelector):
        return ()
    return fn.absent_labels([(m.name, m.op, m.value) for m in sel.matchers])


def _range_function(ev: Evaluator, call: Call, t_ms: int) -> InstantVec:
    index = next(i for i, a in enumerate(call.args) if unwrap(a).type == "matrix")
    scalars = [ev.eval_scalar(a, t_ms) for i, a in enumerate(call.args) if i != index]
    arg = unwrap(call.args[index])
    if isinstance(arg, Subquery):
        series: RangeVec = ev.subquery(arg, t_ms)
        start, end = ev.subquery_window(arg, t_ms)
        range_ms = arg.range_ms
    else:
        assert isinstance(arg, MatrixSelector)
        end = ev.base_time(arg.selector.at, t_ms) - arg.selector.offset_ms
        start, range_ms = end - arg.range_ms, arg.range_ms
        if call.func in ("rate", "increase"):
            return _counter_change(ev, arg.selector, (start, end), is_rate=call.func == "rate")
        series = ev.matrix_selector(arg, t_ms)
    name = call.func
    if name == "absent_over_time":
        return [] if series else [(_absent_labels(arg), 1.0)]
    if name == "last_over_time":  # the one range function that keeps the metric name
        return [(labels, values[-1]) for labels, _, values in series]
    value_of = _range_value(name, scalars, (start, end, range_ms, t_ms))
    out: InstantVec = []
    for n, (labels, times, values) in enumerate(series):
        if not n % EVERY:
            give_way()
        value = value_of(times, values)
        if value is not None:
            out.append((drop_name(labels), value))
    return out


def _counter_change(
    ev: Evaluator, sel: VectorSelector, window: tuple[int, int], *, is_rate: bool
) -> InstantVec:
    """``rate`` or ``increase`` of a range selector, with resets the store already knows."""
    start, end = window
    range_s = (end - start) / 1000
    out: InstantVec = []
    found = ev.storage.select_counters(sel.matchers, start, end)
    ev.budget.add(sum(map(len, map(itemgetter(1), found))))
    for n, (labels, times, values, resets) in enumerate(found):
        if not n % EVERY:
            give_way()
        value = rf.extrapolated_rate(
            times,
            values,
            range_start_ms=start,
            range_end_ms=end,
            range_s=range_s,
            is_counter=True,
            is_rate=is_rate,
            resets=resets,
        )
        if value is not None:
            out.append((drop_name(labels), value))
    return out


RangeValue = Callable[[Sequence[int], Sequence[float]], float | None]
"""One series' value of a range function from its samples in the window (None: no output)."""


def _range_value(name: str, scalars: list[float], window: tuple[int, int, int, int]) -> RangeValue:
    """The per-series function of range function ``name``, its arguments bound."""
    start, end, range_ms, t_ms = window
    if name in rf.SIMPLE:
        simple = rf.SIMPLE[name]
        return lambda _times, values: simple(values)
    if name in ("rate", "increase", "delta"):
        return functools.partial(
            rf.extrapolated_rate,
            range_start_ms=start,
            range_end_ms=end,
            range_s=range_ms / 1000,
            is_counter=name != "delta",
            is_rate=name == "rate",
        )
    if name in ("irate", "idelta"):
        return functools.partial(rf.instant_change, is_rate=name == "irate")
    if name == "quantile_over_time":
        return lambda _times, values: rf.quantile_over_time(scalars[0], values)
    if name == "holt_winters":
        return lambda _times, values: rf.holt_winters(values, scalars[0], scalars[1])
    if name == "deriv":
        return lambda times, values: (
            rf.linear_regression(times, values, times[0])[0] if len(values) >= 2 else None
        )
    assert name == "predict_linear", name

    def predict(times: Sequence[int], values: Sequence[float]) -> float | None:
        if len(values) < 2:
            return None
        slope, intercept = rf.linear_regression(times, values, t_ms)
        return slope * scalars[0] + intercept

    return predict
