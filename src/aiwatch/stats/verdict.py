"""The verdict: which variant, if any, to ship, and in words why (not).

A variant wins only when all of these hold, checked in this order so that the reason names
the first thing to fix:

1. no sample ratio mismatch (an SRM invalidates every comparison);
2. every arm has at least ``min_samples`` on every metric;
3. it is significantly better on at least one primary (non-guardrail) metric, after the
   multiple-testing correction, and significantly worse on none;
4. no guardrail metric is significantly worse, and every guardrail could be evaluated.

When several variants qualify, the one better on the most metrics wins, then the one with the
strongest evidence (smallest adjusted p-value, or largest chance to win).
"""

from collections.abc import Sequence

from aiwatch.config.model import Experiment
from aiwatch.stats.guards import BLOCKING
from aiwatch.stats.result import ResultRow, Verdict
from aiwatch.stats.srm import SRM_THRESHOLD, has_srm


def decide(experiment: Experiment, rows: Sequence[ResultRow], *, srm_p_value: float) -> Verdict:
    """The verdict for ``experiment`` given its analysed ``rows``."""
    primary = [m.name for m in experiment.metrics if not m.guardrail]
    compared = [r for r in rows if r.variant != experiment.control]
    if not primary or not compared:
        return Verdict(None, "nothing to compare: needs a primary metric and a variant")
    if has_srm(srm_p_value):
        return Verdict(None, f"sample ratio mismatch: p = {srm_p_value:.3g} < {SRM_THRESHOLD}")
    smallest = min(r.n for r in rows)
    if smallest < experiment.min_samples:
        return Verdict(None, f"not enough samples: {smallest} of {experiment.min_samples} needed")
    primary_set = set(primary)
    candidates: list[tuple[ResultRow, ...]] = []
    blocked: list[str] = []
    for variant in dict.fromkeys(r.variant for r in compared):
        own = tuple(r for r in compared if r.variant == variant)
        problem = _problem(variant, own, primary_set)
        if problem is None:
            candidates.append(own)
        elif problem:
            blocked.append(problem)
    if candidates:
        best = min(candidates, key=lambda own: _rank(own, primary_set))
        wins = [r.metric for r in best if r.outcome == "better" and r.metric in primary]
        return Verdict(
            best[0].variant, f"{best[0].variant} beats {experiment.control} on {', '.join(wins)}"
        )
    if blocked:
        return Verdict(None, blocked[0])
    return Verdict(None, _no_difference(experiment, compared, primary))


def _problem(variant: str, rows: Sequence[ResultRow], primary: set[str]) -> str | None:
    """Why ``variant`` cannot win: ``None`` if it can, ``""`` if it simply is not better."""
    better = [r.metric for r in rows if r.metric in primary and r.outcome == "better"]
    if not better:
        return ""
    worse = [r.metric for r in rows if r.metric in primary and r.outcome == "worse"]
    failing = [r.metric for r in rows if r.metric not in primary and r.outcome == "worse"]
    unknown = [r for r in rows if r.metric not in primary and r.guard in BLOCKING]
    head = f"{variant} is better on {', '.join(better)}"
    if worse:
        return f"{head} but worse on {', '.join(worse)}"
    if failing:
        return f"{head} but fails guardrail {', '.join(failing)}"
    if unknown:
        r = unknown[0]
        return f"{head} but guardrail {r.metric} cannot be evaluated: {r.guard}"
    return None


def _rank(rows: tuple[ResultRow, ...], primary: set[str]) -> tuple[int, float]:
    """Sort key: more primary wins first, then the strongest evidence among them."""
    wins = [r for r in rows if r.outcome == "better" and r.metric in primary]
    evidence = min(
        (r.adjusted_p_value if r.adjusted_p_value is not None else 1.0 - (r.chance_to_win or 0.0))
        for r in wins
    )
    return (-len(wins), evidence)


def _no_difference(
    experiment: Experiment, compared: Sequence[ResultRow], primary: Sequence[str]
) -> str:
    rows = [r for r in compared if r.metric in primary]
    if all(r.guard in BLOCKING for r in rows):
        r = rows[0]
        return f"cannot compare {r.variant} on {r.metric}: {r.guard}"
    worse = [r for r in rows if r.outcome == "worse"]
    if worse:
        r = worse[0]
        return f"no variant beats {experiment.control}; {r.variant} is worse on {r.metric}"
    needs = [(r, r.power) for r in rows if r.power is not None and r.power.samples_needed > 0]
    if needs:
        r, power = max(needs, key=lambda pair: pair[1].samples_needed)
        return (
            f"no significant difference yet: {power.samples_needed} more samples per arm "
            f"to detect {power.minimum_effect:g} on {r.metric}"
        )
    return "no significant difference"
