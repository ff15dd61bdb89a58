"""Release gates: ``pass``, ``fail`` or ``inconclusive`` for a candidate against a margin.

Built on :func:`aiwatch.stats.noninferiority.non_inferiority_test` in its sequential form. The
harm ``h`` is how much worse the candidate is (the lift when lower is better, minus the lift
otherwise); with the always-valid confidence sequence ``[h_lo, h_hi]`` and the margin ``m``:

* ``pass`` when ``h_hi < m``: worse by less than the margin, if at all;
* ``fail`` when ``h_lo > m``: worse by more than the margin;
* ``inconclusive`` otherwise, with the samples per arm that would settle it at the current
  estimate and spread.

The sequence is the two-sided one at level ``alpha`` (the shared test is asked for
``alpha / 2``, whose interval is the ``1 − 2·(alpha/2)`` one). It covers the true harm at every
sample size at once with probability ``1 − alpha`` (Ville's inequality on the mixture
martingale), so the decision may be read at any time, as often as wanted: a wrong ``pass``
(true harm above the margin) or a wrong ``fail`` (below it) needs the sequence to miss the
true value, which happens with probability at most ``alpha`` over the whole run.

Proportions are compared on Agresti–Caffo counts (one success and one failure added to each
arm; Agresti & Caffo, The American Statistician 54, 2000), so an arm with no failure yet does
not count as constant: five successes out of five are not a certainty. Two constant arms of
means (a cost per call that never varies) have an exact harm, read against the margin as is.

Pure functions; :func:`against_threshold` is the one-sample form for a fixed value.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiwatch.stats.frequentist import delta_variance
from aiwatch.stats.guards import Guard, check_arm, is_constant
from aiwatch.stats.noninferiority import non_inferiority_test
from aiwatch.stats.sequential import rho_squared
from aiwatch.stats.sufficient import Proportion, SufficientStats

Decision = Literal["pass", "fail", "inconclusive"]
Goal = Literal["increase", "decrease"]

MAX_SAMPLES = 10**9
"""The search for the samples needed stops here (the answer is then "at least this")."""


@dataclass(frozen=True, slots=True)
class Gate:
    """A candidate against a margin (or one arm against a threshold) on one metric."""

    decision: Decision
    margin: float
    harm: float | None = None
    """The estimated harm: how much worse the candidate is (negative: better)."""
    ci: tuple[float, float] | None = None
    """The always-valid interval for the harm."""
    p_value: float | None = None
    """One-sided, of "the harm is at least the margin" (small: non-inferior)."""
    samples_needed: int | None = None
    """More samples per arm that would settle an inconclusive result at the current estimate."""
    constant: bool = False
    guard: Guard | None = None

    def to_json(self) -> dict[str, Any]:
        """The result's fields as JSON."""
        return {
            "decision": self.decision,
            "margin": self.margin,
            "harm": self.harm,
            "ci": list(self.ci) if self.ci is not None else None,
            "p_value": self.p_value,
            "samples_needed": self.samples_needed,
            "constant": self.constant,
            "guard": self.guard.value if self.guard is not None else None,
        }


def adjusted(arm: SufficientStats) -> SufficientStats:
    """Agresti–Caffo counts for a proportion; any other arm as it is."""
    if isinstance(arm, Proportion) and arm.n > 0:
        return Proportion(n=arm.n + 2, successes=arm.successes + 1.0)
    return arm


def _decide(low: float, high: float, margin: float) -> Decision:
    if high < margin:
        return "pass"
    return "fail" if low > margin else "inconclusive"


def compare(
    baseline: SufficientStats,
    candidate: SufficientStats,
    *,
    margin: float,
    goal: Goal,
    relative: bool = True,
    alpha: float = 0.05,
    tuning: float = 5000.0,
) -> Gate:
    """Decide whether ``candidate`` is worse than ``baseline`` by less than ``margin``."""
    for arm in (baseline, candidate):
        if (guard := check_arm(arm)) is not None:
            return Gate("inconclusive", margin, guard=guard)
    base, cand = adjusted(baseline), adjusted(candidate)
    test = non_inferiority_test(
        base,
        cand,
        margin=margin,
        relative=relative,
        lower_is_better=goal == "decrease",
        alpha=alpha / 2.0,
        sequential_tuning=tuning,
    )
    if isinstance(test, Guard):
        return Gate("inconclusive", margin, guard=test)
    width = test.harm_bound - test.harm
    low, high = test.harm - width, test.harm_bound
    decision = _decide(low, high, margin)
    constant = width == 0.0
    needed = None
    if decision == "inconclusive" and not constant:
        unit = _unit_variance(base, cand, relative=relative)
        per_arm = _smallest(
            lambda n: cs_half_width(unit / n, 2.0 * n, alpha=alpha, tuning=tuning),
            abs(margin - test.harm),
        )
        needed = max(0, per_arm - min(baseline.n, candidate.n))
    return Gate(
        decision,
        margin,
        harm=test.harm,
        ci=(low, high),
        p_value=test.p_value,
        samples_needed=needed,
        constant=constant,
    )


def against_threshold(
    arm: SufficientStats,
    *,
    threshold: float,
    goal: Goal,
    alpha: float = 0.05,
    tuning: float = 5000.0,
) -> Gate:
    """One arm against a fixed value, by the one-sample confidence sequence.

    ``pass`` when the whole interval for the mean is on the good side of ``threshold``
    (below it for ``decrease``), ``fail`` when it is wholly on the bad side. ``harm`` is how
    far the mean is on the bad side (negative: on the good side); ``margin`` is 0.
    """
    if (guard := check_arm(arm)) is not None:
        return Gate("inconclusive", 0.0, guard=guard)
    arm = adjusted(arm)
    harm = (1.0 if goal == "decrease" else -1.0) * (arm.mean - threshold) + 0.0
    if is_constant(arm):
        return Gate(_decide(harm, harm, 0.0), 0.0, harm=harm, ci=(harm, harm), constant=True)
    variance = max(arm.variance, 0.0)
    width = cs_half_width(variance / arm.n, float(arm.n), alpha=alpha, tuning=tuning)
    decision = _decide(harm - width, harm + width, 0.0)
    needed = None
    if decision == "inconclusive":
        per_arm = _smallest(
            lambda n: cs_half_width(variance / n, float(n), alpha=alpha, tuning=tuning), abs(harm)
        )
        needed = max(0, per_arm - arm.n)
    return Gate(decision, 0.0, harm=harm, ci=(harm - width, harm + width), samples_needed=needed)


def cs_half_width(variance: float, total: float, *, alpha: float, tuning: float) -> float:
    """Half-width of the confidence sequence for an estimate of ``variance`` from ``total``
    samples (eq. 9 of Waudby-Smith et al., as :mod:`aiwatch.stats.sequential`)."""
    r2 = rho_squared(alpha=alpha, tuning=tuning)
    tr2p1 = total * r2 + 1.0
    return math.sqrt(variance * total) * math.sqrt(
        2.0 * tr2p1 * math.log(math.sqrt(tr2p1) / alpha) / (total * total * r2)
    )


def samples_per_arm(unit_variance: float, gap: float, *, alpha: float, tuning: float) -> int:
    """Samples per arm (both equal, same spread) at which the sequence's half-width is below
    ``gap``; docs/release-gates.md's table comes from it."""
    return _smallest(
        lambda n: cs_half_width(unit_variance / n, 2.0 * n, alpha=alpha, tuning=tuning), gap
    )


def _unit_variance(base: SufficientStats, cand: SufficientStats, *, relative: bool) -> float:
    """The variance of the difference with one sample in each arm."""
    return delta_variance(
        var_a=max(base.variance, 0.0),
        mean_a=base.mean,
        n_a=1.0,
        var_b=max(cand.variance, 0.0),
        mean_b=cand.mean,
        n_b=1.0,
        relative=relative,
    )


def _smallest(width: Callable[[int], float], gap: float) -> int:
    """The smallest ``n`` (doubling, then bisecting) with ``width(n) < gap``."""
    if not gap > 0:
        return MAX_SAMPLES
    high = 2
    while width(high) >= gap:
        if high >= MAX_SAMPLES:
            return MAX_SAMPLES
        high = min(high * 2, MAX_SAMPLES)
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if width(mid) < gap else (mid, high)
    return high
