"""Aggregation operators (``sum``, ``avg``, ``topk``, …) over an instant vector."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aiwatch.golang.strconv import format_float
from aiwatch.promql.numerics import GoHeap, quantile
from aiwatch.promql.pacing import EVERY, give_way
from aiwatch.promql.values import NAME, Elem, InstantVec, PromQLError, with_label

AGGREGATIONS = frozenset(
    {
        "sum", "avg", "min", "max", "count", "count_values", "stddev", "stdvar",
        "quantile", "topk", "bottomk", "group",
    }
)  # fmt: skip

_LABEL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")


def valid_label_name(name: str) -> bool:
    """Whether ``name`` is a legal label name (``[a-zA-Z_][a-zA-Z0-9_]*``)."""
    return bool(name) and not name[0].isdigit() and all(ch in _LABEL_NAME_CHARS for ch in name)


@dataclass(slots=True)
class _Group:
    labels: tuple[tuple[str, str], ...]
    value: float
    mean: float
    count: int = 1
    members: list[tuple[float, int]] | None = None  # only for quantile


def aggregate(
    op: str, vec: InstantVec, grouping: Sequence[str], *, without: bool, param: float | str | None
) -> InstantVec:
    """Apply aggregation ``op`` to ``vec`` grouped by (or without) ``grouping``."""
    grouping = sorted(grouping)
    if op in ("topk", "bottomk"):
        assert isinstance(param, float)
        return _top_bottom(op, vec, grouping, without=without, param=param)
    if op == "count_values":
        assert isinstance(param, str)
        vec, grouping = _count_values_input(vec, grouping, without=without, label=param)
    groups: dict[tuple[tuple[str, str], ...], _Group] = {}
    # Labels a group key leaves out (``without``) or keeps (``by``), as a set.
    names = frozenset((*grouping, NAME)) if without else frozenset(grouping)
    for index, (labels, value) in enumerate(vec):
        if not index % EVERY:
            give_way()
        if without:
            key = tuple([p for p in labels if p[0] not in names])
        else:
            key = tuple([p for p in labels if p[0] in names])
        group = groups.get(key)
        if group is None:
            groups[key] = _new_group(op, key, value, index)
        else:
            _accumulate(op, group, value, index)
    return [(g.labels, _final(op, g, param)) for g in groups.values()]


def _group_key(
    labels: tuple[tuple[str, str], ...], grouping: Sequence[str], *, without: bool
) -> tuple[tuple[str, str], ...]:
    if without:
        return tuple(p for p in labels if p[0] not in grouping and p[0] != NAME)
    return tuple(p for p in labels if p[0] in grouping)


def _new_group(op: str, key: tuple[tuple[str, str], ...], value: float, index: int) -> _Group:
    group = _Group(labels=key, value=value, mean=value)
    if op in ("stddev", "stdvar"):
        group.value = 0.0
    elif op == "group":
        group.value = 1.0
    elif op == "quantile":
        group.members = [(value, index)]
    return group


def _accumulate(op: str, g: _Group, v: float, index: int) -> None:
    if op == "sum":
        g.value += v
    elif op == "avg":
        g.count += 1
        if math.isinf(g.mean) and (
            (math.isinf(v) and (g.mean > 0) == (v > 0)) or not (math.isinf(v) or math.isnan(v))
        ):
            return
        # Divide each term by the count, as Prometheus does, to avoid overflow.
        g.mean += v / g.count - g.mean / g.count
    elif op == "max":
        if g.value < v or math.isnan(g.value):
            g.value = v
    elif op == "min":
        if g.value > v or math.isnan(g.value):
            g.value = v
    elif op in ("count", "count_values"):
        g.count += 1
    elif op in ("stddev", "stdvar"):
        g.count += 1
        delta = v - g.mean
        g.mean += delta / g.count
        g.value += delta * (v - g.mean)
    elif op == "quantile":
        assert g.members is not None  # set by _new_group for quantile
        g.members.append((v, index))


def _final(op: str, g: _Group, param: float | str | None) -> float:
    if op == "avg":
        return g.mean
    if op in ("count", "count_values"):
        return float(g.count)
    if op == "stdvar":
        return g.value / g.count
    if op == "stddev":
        return math.sqrt(g.value / g.count)
    if op == "quantile":
        assert isinstance(param, float)
        return quantile(param, [v for v, _ in g.members or ()])
    return g.value


def _count_values_input(
    vec: InstantVec, grouping: list[str], *, without: bool, label: str
) -> tuple[InstantVec, list[str]]:
    if not valid_label_name(label):
        msg = f"invalid label name {label!r} in count_values()"
        raise PromQLError(msg)
    relabelled = [(with_label(labels, label, format_float(v, "f")), v) for labels, v in vec]
    if not without:
        grouping = sorted([*grouping, label])
    return relabelled, grouping


def _top_bottom(
    op: str, vec: InstantVec, grouping: Sequence[str], *, without: bool, param: float
) -> InstantVec:
    if math.isnan(param) or not -(2.0**63) <= param < 2.0**63:
        msg = f"Scalar value {format_float(param, 'f')} overflows int64"
        raise PromQLError(msg)
    k = int(param)
    if k < 1:
        return []
    top = op == "topk"
    heaps: dict[tuple[tuple[str, str], ...], GoHeap] = {}
    for index, (labels, value) in enumerate(vec):
        key = _group_key(labels, grouping, without=without)
        heap = heaps.get(key)
        if heap is None:
            heaps[key] = GoHeap([(value, index)], _less_top if top else _less_bottom)
            continue
        _offer(heap, value, index, k, top=top)
    out: list[Elem] = []
    for heap in heaps.values():
        ordered = _result_order(heap.items, top=top)
        out.extend((vec[i][0], v) for v, i in ordered)
    return out


def _offer(heap: GoHeap, value: float, index: int, k: int, *, top: bool) -> None:
    head = heap.items[0][0]
    better = head < value if top else head > value
    if len(heap.items) < k or better or math.isnan(head):
        if len(heap.items) == k:
            if k == 1:
                heap.items[0] = (value, index)
                return
            heap.pop()
        heap.push((value, index))


def _less_top(a: float, b: float) -> bool:
    return True if math.isnan(a) else a < b


def _less_bottom(a: float, b: float) -> bool:
    return True if math.isnan(a) else a > b


def _result_order(items: list[tuple[float, int]], *, top: bool) -> list[tuple[float, int]]:
    # Largest first for topk, smallest first for bottomk, NaN last, as Prometheus lists them.
    return sorted(items, key=lambda item: (math.isnan(item[0]), -item[0] if top else item[0]))
