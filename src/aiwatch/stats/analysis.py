"""One call from an experiment's config and its arms' sufficient statistics to a verdict.

``analyze(experiment, data)`` compares every variant with the control on every metric (by the
configured method and difference), corrects the primary metrics' p-values for multiple
testing, checks the sample ratio, measures power and decides (:mod:`aiwatch.stats.verdict`).
"""

import dataclasses
import math
from collections.abc import Mapping

from aiwatch.config.model import Experiment, ExperimentMetric
from aiwatch.stats.bayesian import FLAT, GaussianPrior, Posterior, effect_bayesian
from aiwatch.stats.correction import adjust
from aiwatch.stats.frequentist import Estimate, two_sided_ttest
from aiwatch.stats.guards import Guard, check_arm
from aiwatch.stats.power import Power, power_analysis
from aiwatch.stats.result import ExperimentResult, Outcome, ResultRow
from aiwatch.stats.sequential import sequential_ttest
from aiwatch.stats.srm import has_srm, srm_p_value
from aiwatch.stats.sufficient import EMPTY, Ratio, SufficientStats
from aiwatch.stats.verdict import decide

Data = Mapping[tuple[str, str], SufficientStats]
"""``(variant, metric) -> statistics``; a missing pair counts as an arm with no data."""


def analyze(
    experiment: Experiment, data: Data, *, units: Mapping[str, int] | None = None
) -> ExperimentResult:
    """Analyse ``experiment`` on ``data``.

    ``units`` is the number of units assigned to each variant, for the sample-ratio check;
    without it each variant's largest ``n`` over its metrics stands in.
    """
    rows: list[ResultRow] = []
    for metric in experiment.metrics:
        rows.extend(_metric_rows(experiment, metric, data))
    rows = _corrected(experiment, rows)
    counts = [
        units.get(v.name, 0) if units is not None else _largest_n(v.name, experiment, data)
        for v in experiment.variants
    ]
    srm_p = srm_p_value(counts, [v.weight for v in experiment.variants])
    return ExperimentResult(
        name=experiment.name,
        method=experiment.method,
        difference=experiment.difference,
        correction=experiment.correction,
        alpha=experiment.alpha,
        srm_p_value=srm_p,
        srm=has_srm(srm_p),
        verdict=decide(experiment, rows, srm_p_value=srm_p),
        results=tuple(rows),
    )


def _largest_n(variant: str, experiment: Experiment, data: Data) -> int:
    return max((data.get((variant, m.name), EMPTY).n for m in experiment.metrics), default=0)


def _metric_rows(experiment: Experiment, metric: ExperimentMetric, data: Data) -> list[ResultRow]:
    control = data.get((experiment.control, metric.name), EMPTY)
    rows = [_control_row(metric.name, experiment.control, control)]
    for variant in experiment.variants:
        if variant.name == experiment.control:
            continue
        stats = data.get((variant.name, metric.name), EMPTY)
        rows.append(_compare(experiment, metric, variant.name, control, stats))
    return rows


def _mean(stats: SufficientStats) -> float | None:
    """The arm's mean, or ``None`` when it has no data or no finite mean."""
    if stats.n <= 0 or check_arm(stats) is Guard.INVALID_INPUT:
        return None
    # Ratio.mean answers 0 for 0/0 as gbstats does; shown to a reader, that is a wrong number.
    if isinstance(stats, Ratio) and stats.denominator_sum == 0:
        return None
    mean = stats.mean
    return mean if math.isfinite(mean) else None


def _control_row(metric: str, name: str, stats: SufficientStats) -> ResultRow:
    return ResultRow(
        metric=metric, variant=name, n=max(0, stats.n), mean=_mean(stats), guard=check_arm(stats)
    )


def _compare(
    experiment: Experiment,
    metric: ExperimentMetric,
    name: str,
    control: SufficientStats,
    variant: SufficientStats,
) -> ResultRow:
    relative = experiment.difference == "relative"
    lower = metric.goal == "decrease"
    result = _test(experiment, control, variant, relative=relative, lower_is_better=lower)
    n, mean = max(0, variant.n), _mean(variant)
    if isinstance(result, Guard):
        return ResultRow(metric=metric.name, variant=name, n=n, mean=mean, guard=result)
    too_few = min(control.n, variant.n) < experiment.min_samples
    return ResultRow(
        metric=metric.name,
        variant=name,
        n=n,
        mean=mean,
        lift=result.lift,
        ci=result.ci,
        p_value=None if isinstance(result, Posterior) else result.p_value,
        chance_to_win=result.chance_to_win if isinstance(result, Posterior) else None,
        risk=result.risk if isinstance(result, Posterior) else None,
        guard=Guard.TOO_FEW_SAMPLES if too_few else None,
        power=_power(experiment, metric, control, variant),
    )


def _test(
    experiment: Experiment,
    control: SufficientStats,
    variant: SufficientStats,
    *,
    relative: bool,
    lower_is_better: bool,
) -> Estimate | Posterior | Guard:
    alpha = experiment.alpha
    if experiment.method == "bayesian":
        return effect_bayesian(
            control,
            variant,
            relative=relative,
            alpha=alpha,
            prior=_prior(experiment),
            lower_is_better=lower_is_better,
        )
    if experiment.method == "sequential":
        return sequential_ttest(
            control, variant, relative=relative, alpha=alpha, tuning=experiment.sequential_tuning
        )
    return two_sided_ttest(control, variant, relative=relative, alpha=alpha)


def _prior(experiment: Experiment) -> GaussianPrior:
    if experiment.prior_variance is None:
        return FLAT
    return GaussianPrior(
        mean=experiment.prior_mean or 0.0, variance=experiment.prior_variance, proper=True
    )


def _power(
    experiment: Experiment,
    metric: ExperimentMetric,
    control: SufficientStats,
    variant: SufficientStats,
) -> Power | None:
    if metric.minimum_effect is None:
        return None
    result = power_analysis(
        control,
        variant,
        minimum_effect=metric.minimum_effect,
        relative=experiment.difference == "relative",
        alpha=experiment.alpha,
        target_power=experiment.power,
    )
    return None if isinstance(result, Guard) else result


def _corrected(experiment: Experiment, rows: list[ResultRow]) -> list[ResultRow]:
    """Adjust the primary metrics' p-values as one family; guardrails stay uncorrected."""
    guardrails = {m.name for m in experiment.metrics if m.guardrail}
    # A row has a p-value only when it was computed (unguarded or merely too few samples).
    family = [
        (i, r.p_value)
        for i, r in enumerate(rows)
        if r.p_value is not None and r.metric not in guardrails
    ]
    adjusted = adjust([p for _, p in family], experiment.correction)
    by_index = dict(zip((i for i, _ in family), adjusted, strict=True))
    goals = {m.name: m.goal for m in experiment.metrics}
    out = []
    for i, r in enumerate(rows):
        adj = by_index.get(i, r.p_value)
        lower = goals[r.metric] == "decrease"
        outcome = _outcome(r, adj, lower_is_better=lower, alpha=experiment.alpha)
        out.append(
            dataclasses.replace(
                r, adjusted_p_value=adj, outcome=outcome, significant=outcome is not None
            )
        )
    return out


def _outcome(
    row: ResultRow, adjusted_p_value: float | None, *, lower_is_better: bool, alpha: float
) -> Outcome | None:
    """Better or worse than the control, when the evidence is significant and unguarded."""
    if row.guard is not None or row.lift is None:
        return None
    if row.chance_to_win is not None:
        if row.chance_to_win > 1.0 - alpha:
            return "better"
        return "worse" if row.chance_to_win < alpha else None
    if adjusted_p_value is None or adjusted_p_value >= alpha:
        return None
    improved = row.lift < 0 if lower_is_better else row.lift > 0
    return "better" if improved else "worse"
