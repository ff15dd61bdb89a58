"""Binary operators: arithmetic, comparisons and set operations with vector matching."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiwatch.promql import arith
from aiwatch.promql.storage import Labels, format_labels
from aiwatch.promql.values import NAME, InstantVec, PromQLError, drop_name

ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": arith.div,
    "%": arith.mod,
    "^": arith.power,
    "atan2": arith.atan2,
}
COMPARISON: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}
SET_OPERATORS = frozenset({"and", "or", "unless"})
# Arithmetic drops the metric name; comparisons and atan2 keep it (Prometheus 2.x).
_DROPS_NAME = frozenset({"+", "-", "*", "/", "%", "^"})


@dataclass(frozen=True)
class Matching:
    """How two vectors' elements are paired: ``on``/``ignoring`` and ``group_*``."""

    card: str  # "one-to-one", "many-to-one", "one-to-many" or "many-to-many"
    on: bool
    labels: tuple[str, ...]
    include: tuple[str, ...]


def scalar_op(op: str, a: float, b: float) -> float:
    """Two scalars; comparisons (always with ``bool``) give 0 or 1."""
    if op in COMPARISON:
        return 1.0 if COMPARISON[op](a, b) else 0.0
    return ARITHMETIC[op](a, b)


def vector_scalar(
    op: str, vec: InstantVec, scalar: float, *, scalar_left: bool, return_bool: bool
) -> InstantVec:
    """Each element of ``vec`` against ``scalar``; comparisons filter unless ``bool``."""
    out: InstantVec = []
    compare = COMPARISON.get(op)
    for labels, v in vec:
        left, right = (scalar, v) if scalar_left else (v, scalar)
        if compare is None:
            value, keep = ARITHMETIC[op](left, right), True
        else:
            value, keep = v, compare(left, right)
        if return_bool:
            value, keep = (1.0 if keep else 0.0), True
        if keep:
            name_dropped = op in _DROPS_NAME or return_bool
            out.append((drop_name(labels) if name_dropped else labels, value))
    return out


def signature(labels: Labels, matching: Matching) -> Labels:
    """The part of ``labels`` two elements must share to be paired."""
    if matching.on:
        return tuple(p for p in labels if p[0] in matching.labels)
    return tuple(p for p in labels if p[0] not in matching.labels and p[0] != NAME)


def set_op(op: str, lhs: InstantVec, rhs: InstantVec, matching: Matching) -> InstantVec:
    """``and``, ``or`` and ``unless``."""
    if op == "and":
        if not lhs or not rhs:
            return []
        right = {signature(labels, matching) for labels, _ in rhs}
        return [e for e in lhs if signature(e[0], matching) in right]
    if op == "or":
        if not lhs or not rhs:
            return lhs + rhs
        left = {signature(labels, matching) for labels, _ in lhs}
        return lhs + [e for e in rhs if signature(e[0], matching) not in left]
    if not lhs or not rhs:
        return list(lhs)
    right = {signature(labels, matching) for labels, _ in rhs}
    return [e for e in lhs if signature(e[0], matching) not in right]


def vector_vector(
    op: str, lhs: InstantVec, rhs: InstantVec, matching: Matching, *, return_bool: bool
) -> InstantVec:
    """Arithmetic or comparison between two vectors, pairing elements by ``matching``."""
    if not lhs or not rhs:
        return []
    swapped = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    one_by_sig = _index_one_side(one, matching, swapped=swapped)
    matched: dict[Labels, set[Labels] | None] = {}
    out: InstantVec = []
    for labels, value in many:
        sig = signature(labels, matching)
        partner = one_by_sig.get(sig)
        if partner is None:
            continue
        vl, vr = (partner[1], value) if swapped else (value, partner[1])
        result, keep = _element_op(op, vl, vr)
        if return_bool:
            result, keep = (1.0 if keep else 0.0), True
        elif not keep:
            continue
        metric = _result_labels(labels, partner[0], op, matching)
        if return_bool:
            metric = drop_name(metric)
        _check_match(matched, sig, metric, matching)
        out.append((metric, result))
    return out


def _index_one_side(
    one: InstantVec, matching: Matching, *, swapped: bool
) -> dict[Labels, tuple[Labels, float]]:
    index: dict[Labels, tuple[Labels, float]] = {}
    for labels, value in one:
        sig = signature(labels, matching)
        if sig in index:
            side = "left" if swapped else "right"
            matched = format_labels(_match_labels(labels, matching))
            msg = (
                f"found duplicate series for the match group {matched} on the {side} hand-side "
                f"of the operation: [{format_labels(labels)}, {format_labels(index[sig][0])}]"
                ";many-to-many matching not allowed: matching labels must be unique on one side"
            )
            raise PromQLError(msg)
        index[sig] = (labels, value)
    return index


def _match_labels(labels: Labels, matching: Matching) -> Labels:
    if matching.on:
        return tuple(p for p in labels if p[0] in matching.labels)
    return tuple(p for p in labels if p[0] not in matching.labels)


def _element_op(op: str, vl: float, vr: float) -> tuple[float, bool]:
    compare = COMPARISON.get(op)
    if compare is None:
        return ARITHMETIC[op](vl, vr), True
    return vl, compare(vl, vr)


def _result_labels(lhs: Labels, rhs: Labels, op: str, matching: Matching) -> Labels:
    result = dict(lhs)
    if op in _DROPS_NAME:
        result.pop(NAME, None)
    if matching.card == "one-to-one":
        if matching.on:
            result = {k: v for k, v in result.items() if k in matching.labels}
        else:
            result = {k: v for k, v in result.items() if k not in matching.labels}
    one_side = dict(rhs)
    for name in matching.include:
        value = one_side.get(name, "")
        if value:
            result[name] = value
        else:
            result.pop(name, None)
    return tuple(sorted(result.items()))


def _check_match(
    matched: dict[Labels, set[Labels] | None], sig: Labels, metric: Labels, matching: Matching
) -> None:
    if matching.card == "one-to-one":
        if sig in matched:
            msg = (
                "multiple matches for labels: many-to-one matching must be explicit "
                "(group_left/group_right)"
            )
            raise PromQLError(msg)
        matched[sig] = None
        return
    inserted = matched.setdefault(sig, set())
    assert inserted is not None
    if metric in inserted:
        msg = "multiple matches for labels: grouping labels must ensure unique matches"
        raise PromQLError(msg)
    inserted.add(metric)


def include_labels(names: Sequence[str] | None) -> tuple[str, ...]:
    """The ``group_left``/``group_right`` label list as a tuple."""
    return tuple(names or ())
