"""Release verdicts: may a canary (or green) go on? ``pass``, ``fail`` or ``inconclusive``.

A canary experiment compares its candidate variant with the control (the baseline), metric by
metric, by the sequential non-inferiority test of :mod:`aiwatch.stats.noninferiority`. A
blue-green experiment does the same once traffic has been switched to green (blue's data
stop at the switch and are its last window); before the switch, green is judged alone
against each metric's ``threshold``.

Per metric, an arm below ``min_samples`` is ``inconclusive`` whatever the interval says.
Overall: ``fail`` if any metric fails, ``pass`` if every metric passes, else
``inconclusive``. Pure: config and sums in, a verdict out.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from aiwatch.config.model import Experiment, ExperimentMetric
from aiwatch.stats import SufficientStats
from aiwatch.stats.gate import Decision, Gate, against_threshold, compare
from aiwatch.stats.sufficient import EMPTY

if TYPE_CHECKING:
    from aiwatch.experiments.prepromotion import SuiteResult

Phase = Literal["canary", "before_switch", "after_switch"]


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One metric's decision, why, and the numbers behind it."""

    metric: str
    goal: str
    decision: Decision
    reason: str
    n_baseline: int
    n_candidate: int
    test: Gate
    threshold: float | None = None
    samples_needed: int | None = None
    """More samples per arm before the metric can be decided (``min_samples`` included)."""

    def to_json(self) -> dict[str, Any]:
        """The metric's part of the verdict document."""
        return {
            "metric": self.metric,
            "goal": self.goal,
            "verdict": self.decision,
            "reason": self.reason,
            "n": {"baseline": self.n_baseline, "candidate": self.n_candidate},
            "threshold": self.threshold,
            **{k: v for k, v in self.test.to_json().items() if k != "decision"},
            "samples_needed": self.samples_needed,
        }


@dataclass(frozen=True, slots=True)
class ReleaseVerdict:
    """The whole decision for a canary or blue-green experiment."""

    verdict: Decision
    reason: str
    phase: Phase
    baseline: str
    candidate: str
    metrics: tuple[MetricVerdict, ...]
    validation: dict[str, Any] | None = None
    """Blue-green before the switch: the latest run of green's validation suite."""

    def to_json(self) -> dict[str, Any]:
        """The verdict document (``GET /api/v1/experiments/{name}/verdict``'s data)."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "phase": self.phase,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "metrics": [m.to_json() for m in self.metrics],
            "validation": self.validation,
        }


def with_suite(verdict: ReleaseVerdict, suite: "SuiteResult | None") -> ReleaseVerdict:
    """Before the switch, green's validation suite decides first: failed (or could not run)
    is ``fail`` with the failing checks as reasons; not yet run or running is
    ``inconclusive``; passed leaves the metrics' verdict as it is."""
    if verdict.phase != "before_switch":
        return verdict
    doc = suite.to_json() if suite is not None else {"status": "not_run"}
    decision, reason = verdict.verdict, verdict.reason
    if suite is None:
        decision, reason = "inconclusive", "validation suite not yet run against green"
    elif suite.status == "running":
        decision, reason = "inconclusive", "validation suite still running against green"
    elif suite.status in ("failed", "error"):
        decision = "fail"
        reason = f"validation suite {suite.status}: " + "; ".join(suite.failed)
    return replace(verdict, verdict=decision, reason=reason, validation=doc)


def candidate_of(experiment: Experiment) -> str:
    """The variant that is not the control (the canary, or green)."""
    return next(v.name for v in experiment.variants if v.name != experiment.control)


def release_verdict(
    experiment: Experiment,
    arms: Mapping[tuple[str, str], SufficientStats],
    *,
    switched: bool = False,
) -> ReleaseVerdict:
    """The verdict on ``arms`` now; ``switched``: a blue-green experiment after its switch."""
    baseline, candidate = experiment.control, candidate_of(experiment)
    phase: Phase = "canary"
    if experiment.type == "blue_green":
        phase = "after_switch" if switched else "before_switch"
    verdicts = tuple(
        _metric(
            experiment,
            metric,
            arms.get((baseline, metric.name), EMPTY),
            arms.get((candidate, metric.name), EMPTY),
            phase,
        )
        for metric in experiment.metrics
    )
    overall, reason = _overall(verdicts, candidate)
    return ReleaseVerdict(overall, reason, phase, baseline, candidate, verdicts)


def _metric(
    experiment: Experiment,
    metric: ExperimentMetric,
    base: SufficientStats,
    cand: SufficientStats,
    phase: Phase,
) -> MetricVerdict:
    tuning = experiment.sequential_tuning
    if phase == "before_switch":
        threshold = metric.threshold if metric.threshold is not None else 0.0
        test = against_threshold(
            cand, threshold=threshold, goal=metric.goal, alpha=experiment.alpha, tuning=tuning
        )
        n_base = 0
        needed = [("candidate", cand.n)]
    else:
        threshold = None
        test = compare(
            base,
            cand,
            margin=metric.margin or 0.0,
            goal=metric.goal,
            relative=experiment.difference == "relative",
            alpha=experiment.alpha,
            tuning=tuning,
        )
        n_base = base.n
        needed = [("baseline", base.n), ("candidate", cand.n)]
    short = [(who, n) for who, n in needed if n < experiment.min_samples]
    decision: Decision = test.decision
    more = test.samples_needed
    if short:
        decision = "inconclusive"
        counts = ", ".join(f"{who} {n}" for who, n in short)
        reason = f"too few samples: {counts} of {experiment.min_samples} needed"
        more = max(more or 0, experiment.min_samples - min(n for _, n in short))
    else:
        reason = _reason(test, threshold)
    return MetricVerdict(
        metric.name, metric.goal, decision, reason, n_base, cand.n, test, threshold, more
    )


def _reason(test: Gate, threshold: float | None) -> str:
    if test.guard is not None:
        return f"cannot compare yet: {test.guard.value}"
    assert test.ci is not None  # every unguarded result has an interval
    lo, hi = (f"{x:.4g}" for x in test.ci)
    against = f"threshold {threshold:g}" if threshold is not None else f"margin {test.margin:g}"
    shown = f"harm interval [{lo}, {hi}]"
    if test.constant:
        shown = f"constant arms, exact harm {test.harm:.4g}"
    if test.decision == "pass":
        return f"within {against}: {shown}"
    if test.decision == "fail":
        return f"worse than {against}: {shown}"
    more = f"; about {test.samples_needed} more samples per arm" if test.samples_needed else ""
    return f"not yet decided against {against}: {shown}{more}"


def _overall(verdicts: tuple[MetricVerdict, ...], candidate: str) -> tuple[Decision, str]:
    failed = [v.metric for v in verdicts if v.decision == "fail"]
    if failed:
        return "fail", f"{candidate} fails on {', '.join(failed)}"
    open_ = [v for v in verdicts if v.decision == "inconclusive"]
    if not open_:
        return "pass", f"{candidate} passes on every metric"
    first = open_[0]
    return "inconclusive", f"{first.metric}: {first.reason}"
