"""Instant-query evaluation of PromQL over a ``Storage``, with Prometheus 2.42 semantics."""

from array import array
from operator import itemgetter

from aiwatch.gcpause import collections_paused
from aiwatch.promql import calls
from aiwatch.promql.aggregations import aggregate
from aiwatch.promql.binary import scalar_op, set_op, vector_scalar, vector_vector
from aiwatch.promql.limits import Budget, Unlimited
from aiwatch.promql.storage import Storage, is_stale
from aiwatch.promql.syntax import (
    Aggregate,
    At,
    Binary,
    Call,
    Expr,
    MatrixSelector,
    Negation,
    NumberLiteral,
    Paren,
    StringLiteral,
    Subquery,
    VectorSelector,
    parse,
)
from aiwatch.promql.values import (
    InstantVec,
    PromQLError,
    RangeVec,
    Sample,
    Scalar,
    String,
    Value,
    Vector,
    check_unique,
    drop_name,
)

__all__ = [
    "Expr",
    "PromQLError",
    "Sample",
    "Scalar",
    "String",
    "Vector",
    "instant_query",
    "parse",
]


def instant_query(
    expr: Expr | str,
    storage: Storage,
    t_ms: int,
    *,
    lookback_ms: int = 300_000,
    subquery_step_ms: int = 60_000,
    budget: Budget | None = None,
) -> Vector | Scalar | String:
    """Evaluate ``expr`` at ``t_ms``; ``PromQLError`` for parse and evaluation errors.

    ``subquery_step_ms`` is the step of subqueries written without one (Prometheus uses the
    global evaluation interval). ``budget`` bounds the evaluation (``LimitError`` when it
    runs out); without one there is no limit, as in promtool.
    """
    tree = parse(expr) if isinstance(expr, str) else expr
    evaluator = Evaluator(
        storage,
        t_ms,
        lookback_ms=lookback_ms,
        subquery_step_ms=subquery_step_ms,
        budget=budget or Unlimited(),
    )
    with collections_paused():
        result = evaluator.eval(tree, t_ms)
    if tree.type == "scalar":
        assert isinstance(result, float)
        return Scalar(result)
    if tree.type == "string":
        assert isinstance(result, str)
        return String(result)
    return [Sample(dict(labels), value) for labels, value in _vec(result)]


class Evaluator:
    """Evaluates expression trees for one query time against one storage."""

    def __init__(
        self,
        storage: Storage,
        query_ms: int,
        *,
        lookback_ms: int,
        subquery_step_ms: int,
        budget: Budget,
    ) -> None:
        self.storage = storage
        self.query_ms = query_ms
        self.lookback_ms = lookback_ms
        self.subquery_step_ms = subquery_step_ms
        self.budget = budget

    def eval(self, expr: Expr, t_ms: int) -> Value:
        """The value of ``expr`` at ``t_ms``."""
        match expr:
            case NumberLiteral() | StringLiteral():
                return expr.value
            case VectorSelector():
                return self.vector_selector(expr, t_ms)
            case MatrixSelector():
                return self.matrix_selector(expr, t_ms)
            case Subquery():
                return self.subquery(expr, t_ms)
            case Paren():
                return self.eval(expr.expr, t_ms)
            case Negation():
                return self.negation(expr, t_ms)
            case Aggregate():
                return self.aggregate(expr, t_ms)
            case Binary():
                return self.binary(expr, t_ms)
            case Call():
                return calls.evaluate(self, expr, t_ms)
        raise AssertionError(expr)  # pragma: no cover - Expr is a closed union

    def eval_vector(self, expr: Expr, t_ms: int) -> InstantVec:
        """The value of an instant-vector expression."""
        return _vec(self.eval(expr, t_ms))

    def eval_scalar(self, expr: Expr, t_ms: int) -> float:
        """The value of a scalar expression."""
        value = self.eval(expr, t_ms)
        assert isinstance(value, float)
        return value

    def base_time(self, at: At | None, t_ms: int) -> int:
        """The time a selector or subquery looks from: ``@`` wins over the evaluation time."""
        if at is None:
            return t_ms
        if at.kind == "at":
            return at.t_ms
        return self.query_ms

    def vector_selector(
        self, sel: VectorSelector, t_ms: int, *, ref_ms: int | None = None
    ) -> InstantVec:
        """The newest non-stale sample of each series within the lookback window."""
        elems = self.vector_selector_with_times(sel, t_ms, ref_ms=ref_ms)
        return [(labels, value) for labels, value, _ in elems]

    def vector_selector_with_times(
        self, sel: VectorSelector, t_ms: int, *, ref_ms: int | None = None
    ) -> list[tuple[tuple[tuple[str, str], ...], float, int]]:
        """Like ``vector_selector`` but also each sample's own timestamp."""
        if ref_ms is None:
            ref_ms = self.base_time(sel.at, t_ms) - sel.offset_ms
        out = []
        for labels, times, values in self.storage.select(
            sel.matchers, ref_ms - self.lookback_ms, ref_ms
        ):
            if times and not is_stale(values[-1]):
                out.append((labels, values[-1], times[-1]))
        # As in Prometheus, an instant selector holds one sample per series.
        self.budget.add(len(out))
        return out

    def matrix_selector(self, sel: MatrixSelector, t_ms: int) -> RangeVec:
        """Each series' non-stale samples in ``[t - offset - range, t - offset]``."""
        vs = sel.selector
        end = self.base_time(vs.at, t_ms) - vs.offset_ms
        found = self.storage.select(vs.matchers, end - sel.range_ms, end, drop_stale=True)
        self.budget.add(sum(map(len, map(_times, found))))
        return found

    def subquery_window(self, sq: Subquery, t_ms: int) -> tuple[int, int]:
        """The ``(start, end)`` of the range a subquery covers when evaluated at ``t_ms``."""
        end = self.base_time(sq.at, t_ms) - sq.offset_ms
        return end - sq.range_ms, end

    def subquery(self, sq: Subquery, t_ms: int) -> RangeVec:
        """The inner expression evaluated at every step-aligned time of the window."""
        start, end = self.subquery_window(sq, t_ms)
        step = sq.step_ms or self.subquery_step_ms
        first = -(-start // step) * step  # first multiple of the step at or after start
        steps = range(first, end + 1, step)
        if len(steps) > self.budget.max_subquery_steps:
            msg = (
                f"subquery would evaluate {len(steps)} steps, more than the limit of "
                f"{self.budget.max_subquery_steps}: use a coarser step or a shorter range"
            )
            raise PromQLError(msg)
        # Typed arrays: a long subquery holds 16 bytes per point, not a Python object each.
        series: dict[tuple[tuple[str, str], ...], tuple[array[int], array[float]]] = {}
        for ts in steps:
            self.budget.check()
            vec = self.eval_vector(sq.expr, ts)
            self.budget.add(len(vec))
            for labels, value in vec:
                points = series.get(labels)
                if points is None:
                    points = series[labels] = (array("q"), array("d"))
                points[0].append(ts)
                points[1].append(value)
        return [(labels, times, values) for labels, (times, values) in series.items()]

    def negation(self, expr: Negation, t_ms: int) -> Value:
        """Unary minus; the metric name is dropped."""
        if expr.type == "scalar":
            return -self.eval_scalar(expr.expr, t_ms)
        out = [(drop_name(labels), -v) for labels, v in self.eval_vector(expr.expr, t_ms)]
        check_unique(out)
        return out

    def aggregate(self, expr: Aggregate, t_ms: int) -> InstantVec:
        """An aggregation operator."""
        param: float | str | None = None
        if expr.param is not None:
            value = self.eval(expr.param, t_ms)
            assert isinstance(value, float | str)
            param = value
        vec = self.eval_vector(expr.expr, t_ms)
        out = aggregate(expr.op, vec, expr.grouping, without=expr.without, param=param)
        check_unique(out)
        return out

    def binary(self, expr: Binary, t_ms: int) -> Value:
        """A binary operator between scalars and/or vectors."""
        lhs = self.eval(expr.lhs, t_ms)
        rhs = self.eval(expr.rhs, t_ms)
        if isinstance(lhs, float) and isinstance(rhs, float):
            return scalar_op(expr.op, lhs, rhs)
        flag = expr.return_bool
        if isinstance(lhs, float):
            out = vector_scalar(expr.op, _vec(rhs), lhs, scalar_left=True, return_bool=flag)
        elif isinstance(rhs, float):
            out = vector_scalar(expr.op, _vec(lhs), rhs, scalar_left=False, return_bool=flag)
        else:
            matching = expr.matching
            assert matching is not None  # set by the parser whenever both sides are vectors
            if matching.card == "many-to-many":
                out = set_op(expr.op, _vec(lhs), _vec(rhs), matching)
            else:
                out = vector_vector(expr.op, _vec(lhs), _vec(rhs), matching, return_bool=flag)
        check_unique(out)
        return out


_times = itemgetter(1)
"""A selected series' timestamps."""


def _vec(value: Value) -> InstantVec:
    assert isinstance(value, list)
    return value  # type: ignore[return-value]
