"""What one query may cost: a deadline, a sample budget, a bound on subquery steps.

The evaluator calls ``Budget.check`` between steps and ``Budget.add`` for every sample it
loads, so a query running in a worker thread stops at its deadline, at its sample limit, or
when it is cancelled (the daemon stopping, the client gone), with Prometheus' messages.
"""

import time
from dataclasses import dataclass
from typing import ClassVar, Literal

from aiwatch.promql.values import PromQLError

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_SAMPLES = 5_000_000
DEFAULT_MAX_CONCURRENCY = 4
MAX_SUBQUERY_STEPS = 11_000
"""Steps one subquery may evaluate, as Prometheus bounds a range query's points per series."""


@dataclass(frozen=True)
class QueryLimits:
    """The limits of ``aiwatch run``'s ``--query.*`` flags."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    max_samples: int = DEFAULT_MAX_SAMPLES
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_subquery_steps: int = MAX_SUBQUERY_STEPS


class LimitError(PromQLError):
    """A query stopped at a limit; ``error_type`` and ``status`` as Prometheus' API answers."""

    error_type: ClassVar[Literal["execution", "timeout", "canceled"]] = "execution"
    status: ClassVar[int] = 422


class QueryTimeoutError(LimitError):
    """The query ran past ``--query.timeout``."""

    error_type = "timeout"
    status = 503


class TooManySamplesError(LimitError):
    """The query loaded more than ``--query.max-samples`` samples."""


class QueryCanceledError(LimitError):
    """The query was stopped from outside: the daemon is stopping or nobody waits for it."""

    error_type = "canceled"
    status = 503


TIMEOUT_MESSAGE = "query timed out in expression evaluation"
QUEUE_TIMEOUT_MESSAGE = "query timed out in query queue"
SAMPLES_MESSAGE = "query processing would load too many samples into memory in query execution"
CANCELED_MESSAGE = "query was canceled in expression evaluation"


class Budget:
    """One query's deadline and sample count; ``cancel`` may be called from another thread."""

    __slots__ = ("cancelled", "deadline", "max_samples", "max_subquery_steps", "samples")

    def __init__(
        self, limits: QueryLimits, *, started: float | None = None, timeout_s: float | None = None
    ) -> None:
        began = time.monotonic() if started is None else started
        timeout = limits.timeout_s if timeout_s is None else min(timeout_s, limits.timeout_s)
        self.deadline = began + timeout
        self.max_samples = limits.max_samples
        self.max_subquery_steps = limits.max_subquery_steps
        self.samples = 0
        self.cancelled = False

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once past it)."""
        return self.deadline - time.monotonic()

    def cancel(self) -> None:
        """Make the next ``check`` raise ``QueryCanceledError``."""
        self.cancelled = True

    def check(self) -> None:
        """Raise if the query was cancelled or its deadline passed."""
        if self.cancelled:
            raise QueryCanceledError(CANCELED_MESSAGE)
        if time.monotonic() > self.deadline:
            raise QueryTimeoutError(TIMEOUT_MESSAGE)

    def add(self, samples: int) -> None:
        """Count ``samples`` more loaded samples; raise past the limit, or as ``check``."""
        self.samples += samples
        if self.samples > self.max_samples:
            raise TooManySamplesError(SAMPLES_MESSAGE)
        self.check()


class Unlimited(Budget):
    """No limits: ``aiwatch test rules`` and the library default, as promtool evaluates."""

    def __init__(self) -> None:
        super().__init__(QueryLimits(timeout_s=float("inf"), max_samples=2**62))
        self.max_subquery_steps = 2**62

    def check(self) -> None:
        """Never raises."""

    def add(self, samples: int) -> None:
        """Never raises."""
