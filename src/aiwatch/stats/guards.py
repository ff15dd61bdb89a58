"""Named guards: why a comparison was not computed, instead of NaN, inf or an exception."""

import functools
import math
from collections.abc import Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

from aiwatch.stats.sufficient import Proportion, Ratio, SufficientStats


class Guard(StrEnum):
    """A short snake_case reason shown in results, the API and as a metric label."""

    INVALID_INPUT = "invalid_input"
    """A count is negative or not finite, or a proportion has successes outside ``[0, n]``."""
    N_BELOW_2 = "n_below_2"
    """An arm has fewer than two units: no variance can be estimated."""
    ZERO_DENOMINATOR = "zero_denominator"
    """A ratio metric's denominator sums to zero in an arm."""
    CONTROL_MEAN_NOT_POSITIVE = "control_mean_not_positive"
    """A relative lift (or a relative prior) needs a positive control mean."""
    ZERO_VARIANCE = "zero_variance"
    """An arm's values are all equal (or its sums are inconsistent): no test is possible.

    Not when both arms are constant with different means: the difference is then exact.
    """
    TOO_FEW_SAMPLES = "too_few_samples"
    """Computed, but an arm is below the experiment's ``min_samples``: not to be acted on."""
    NUMERICAL_OVERFLOW = "numerical_overflow"
    """The inputs are so extreme that an intermediate result left the floating-point range."""


BLOCKING = frozenset(Guard) - {Guard.TOO_FEW_SAMPLES}
"""Guards under which no lift, interval or p-value is reported."""


def is_valid(stats: SufficientStats) -> bool:
    """Whether every number is finite, ``n`` is not negative and successes lie in ``[0, n]``."""
    if stats.n < 0 or not all(math.isfinite(x) for x in stats.numbers()):
        return False
    return not isinstance(stats, Proportion) or 0 <= stats.successes <= stats.n


def check_arm(stats: SufficientStats) -> Guard | None:
    """The first guard that a single arm trips on its own, if any."""
    if not is_valid(stats):
        return Guard.INVALID_INPUT
    if stats.n < 2:
        return Guard.N_BELOW_2
    if isinstance(stats, Ratio) and stats.denominator_sum == 0:
        return Guard.ZERO_DENOMINATOR
    return None


def check_pair(
    control: SufficientStats, variant: SufficientStats, *, relative: bool
) -> Guard | None:
    """The first guard that stops comparing ``variant`` with ``control``, if any.

    The order follows how a reader would fix the data: bad input first, then too little of
    it, then what the chosen difference needs.
    """
    for arm in (control, variant):
        if (guard := check_arm(arm)) is not None:
            return guard
    if relative and control.mean <= 0:
        return Guard.CONTROL_MEAN_NOT_POSITIVE
    if not (math.isfinite(control.variance) and math.isfinite(variant.variance)):
        return Guard.NUMERICAL_OVERFLOW
    if not (has_spread(control) and has_spread(variant)):
        return Guard.ZERO_VARIANCE
    return None


CONSTANT_TOLERANCE = 1e-9
"""An arm whose variance is within this share of its squared mean has no spread.

The variance comes from running sums (``Σx² − (Σx)²/n``), so an arm of equal values keeps a
rounding residue, positive, zero or negative depending on ``n``. Comparing it with exactly 0
made a constant arm flip between guarded and computed as samples arrived. ``1e-9`` (a
coefficient of variation below about 3e-5) is above the residue of sums built one value at a
time (under 1e-10 of ``mean²`` at two million values) and far below any real spread of
latencies, costs or rates.
"""


def has_spread(stats: SufficientStats) -> bool:
    """Whether the arm's variance is positive beyond the rounding of its sums."""
    mean = stats.mean
    return stats.variance > CONSTANT_TOLERANCE * (mean * mean)


def is_constant(stats: SufficientStats) -> bool:
    """Whether every value of the arm is (within rounding) the same: variance ≈ 0, not < 0."""
    mean = stats.mean
    return abs(stats.variance) <= CONSTANT_TOLERANCE * (mean * mean)


def constant_lift(
    control: SufficientStats, variant: SufficientStats, *, relative: bool, different: bool = True
) -> float | None:
    """The exact lift when both arms are constant, else ``None``.

    Two constant arms need no test: the difference is known exactly. With ``different``, arms
    whose means agree within the same tolerance (``√CONSTANT_TOLERANCE`` relative) answer
    ``None`` too: there is no difference to report, and ``zero_variance`` stands.
    """
    if not (is_constant(control) and is_constant(variant)):
        return None
    a, b = control.mean, variant.mean
    if abs(b - a) <= math.sqrt(CONSTANT_TOLERANCE) * max(abs(a), abs(b)):
        if different:
            return None
        b = a
    lift = (b - a) / a if relative else b - a
    return lift if math.isfinite(lift) else None


P = ParamSpec("P")
R = TypeVar("R")


def guarded(fn: Callable[P, R]) -> Callable[P, R | Guard]:
    """``fn``, answering ``numerical_overflow`` where float arithmetic raises.

    Python raises ``ZeroDivisionError`` when a divisor has underflowed to exactly zero (a
    control mean of 1e-200 squared, say) where IEEE arithmetic would give inf; that is the
    same "left the floating-point range" condition as an overflow.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Guard:
        try:
            return fn(*args, **kwargs)
        except ArithmeticError:
            return Guard.NUMERICAL_OVERFLOW

    return wrapper


def all_finite(*values: float) -> bool:
    """Whether every value is a finite float."""
    return all(math.isfinite(v) for v in values)
