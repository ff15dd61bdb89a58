"""The small shared types of rule evaluation: what a query returns and where results go."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class QueriedSample(Protocol):
    """One element of an instant-vector query result (the engine's ``Sample`` fits)."""

    @property
    def labels(self) -> Mapping[str, str]:
        """The series labels, ``__name__`` included when the result has one."""

    @property
    def value(self) -> float:
        """The sample value."""


# Evaluate PromQL text at a millisecond timestamp. A scalar result comes back as one
# sample with no labels; anything else that fails raises ``QueryError``.
QueryFunc = Callable[[str, int], Awaitable[Sequence[QueriedSample]]]


class Appender(Protocol):
    """Where rule results are written (the engine's ``MemoryStorage`` fits)."""

    def append(self, labels: Mapping[str, str], t_ms: int, value: float) -> None:
        """Store one sample; may raise ``ValueError`` for a rejected sample."""


@dataclass(frozen=True)
class OutSample:
    """A sample a rule writes back into the store."""

    labels: Mapping[str, str]
    t_ms: int
    value: float


@dataclass(frozen=True)
class Result:
    """A plain sample, for query results built by aiwatch itself."""

    labels: Mapping[str, str]
    value: float


class QueryError(Exception):
    """A rule's expression could not be evaluated (bad query, unreachable datasource)."""


class QueryLimitError(QueryError):
    """A rule's expression stopped at a limit (``--query.timeout``, ``--query.max-samples``)."""


class RuleEvalError(Exception):
    """A rule evaluated but its result is unusable (duplicate label sets, over ``limit``)."""
