"""PromQL for aiwatch: a local sample store and an instant-query evaluator (no I/O)."""

from aiwatch.promql.engine import instant_query, parse
from aiwatch.promql.storage import (
    STALE_NAN,
    LabelMatcher,
    Labels,
    MemoryStorage,
    Storage,
    is_stale,
)
from aiwatch.promql.syntax import Expr
from aiwatch.promql.values import PromQLError, Sample, Scalar, String, Vector

__all__ = [
    "STALE_NAN",
    "Expr",
    "LabelMatcher",
    "Labels",
    "MemoryStorage",
    "PromQLError",
    "Sample",
    "Scalar",
    "Storage",
    "String",
    "Vector",
    "instant_query",
    "is_stale",
    "parse",
]
