"""Values PromQL expressions evaluate to, and the evaluation error."""

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from aiwatch.promql.storage import Labels


class PromQLError(ValueError):
    """A query that cannot be parsed, is not supported, or fails during evaluation."""


@dataclass(slots=True)
class Sample:
    """One element of an instant vector."""

    labels: dict[str, str]
    value: float


Vector = list[Sample]


@dataclass(frozen=True, slots=True)
class Scalar:
    """A single number without labels."""

    value: float


@dataclass(frozen=True, slots=True)
class String:
    """A string literal's value."""

    value: str


# Inside the evaluator an instant vector is a list of (labels, value) pairs and a range
# vector a list of (labels, timestamps, values); labels stay sorted tuples so that they
# hash and compare cheaply.
Elem = tuple[Labels, float]
InstantVec = list[Elem]
SeriesRange = tuple[Labels, Sequence[int], Sequence[float]]
RangeVec = list[SeriesRange]
Value = InstantVec | float | str | RangeVec
"""What an expression evaluates to inside the evaluator."""

NAME = "__name__"


def drop_name(labels: Labels) -> Labels:
    """``labels`` without the metric name."""
    if labels and labels[0][0] == NAME:  # the usual place: label names sort after it
        return labels[1:]
    return tuple(p for p in labels if p[0] != NAME)


def check_unique(vec: InstantVec) -> None:
    """Raise Prometheus' error when two elements of a result share a label set."""
    if len(set(map(itemgetter(0), vec))) != len(vec):
        msg = "vector cannot contain metrics with the same labelset"
        raise PromQLError(msg)


def with_label(labels: Labels, name: str, value: str) -> Labels:
    """``labels`` with ``name`` set to ``value``, or removed when ``value`` is empty."""
    rest = [p for p in labels if p[0] != name]
    if value != "":
        rest.append((name, value))
        rest.sort()
    return tuple(rest)
