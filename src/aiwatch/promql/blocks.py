"""Series × steps blocks: the values of the all-steps range engine's nodes."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aiwatch.promql.limits import Budget
from aiwatch.promql.storage import Labels, Storage
from aiwatch.promql.values import drop_name

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

SUPPORTED_AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "count"})
SUPPORTED_OPERATORS = frozenset({"+", "-", "*", "/", "==", "!=", "<", ">", "<=", ">="})
RATES = frozenset({"rate", "increase", "delta", "irate", "idelta"})


class Unsupported(Exception):
    """The expression (or its data) is left to the step-wise engine."""


@dataclass
class Block:
    """An instant vector at every step: ``labels[i]`` has ``values[i, s]`` where
    ``present[i, s]``. ``ordered``: at every step the present rows, in row order, are the
    step-wise engine's elements in its order."""

    labels: list[Labels]
    values: Floats
    present: Mask
    ordered: bool = True


Value = Block | Floats
"""A node's value: a block, or a scalar's values at every step."""


@dataclass
class Query:
    """One range query: its steps, the store, the lookback, and the samples each step loads."""

    storage: Storage
    steps: Ints
    lookback_ms: int
    budget: Budget
    loaded: Ints


def unique(block: Block) -> Block:
    """``block``, if no two rows of one label set have values at one step (the step-wise
    engine's "vector cannot contain metrics with the same labelset"); else ``Unsupported``."""
    if len(set(block.labels)) == len(block.labels):
        return block
    rows: dict[Labels, list[int]] = {}
    for i, labels in enumerate(block.labels):
        rows.setdefault(labels, []).append(i)
    for same in rows.values():
        if len(same) > 1 and (block.present[same].sum(axis=0) > 1).any():
            raise Unsupported
    return block


def drop_names(labels: list[Labels]) -> list[Labels]:
    """Each label set without its metric name."""
    return [drop_name(lb) for lb in labels]
