"""Probe results as experiment data: which arms a result feeds and with what value.

A variant with ``target: NAME`` receives every scheduled probe result of that target while its
experiment runs. ``field: success`` counts every probe (1 passed, 0 failed); the measured
fields (duration, time to first token, time per output token, cost, output tokens) count only
probes that passed, because a failed call's timing or cost describes the failure (a fast 500,
a timeout at the limit), not the variant, and would mix two effects in one metric. A result
without the field (no token timing on a non-streamed call, no price configured) adds nothing.
"""

from aiwatch.config.model import Experiment, ExperimentMetric
from aiwatch.experiments.observations import Arms, merge
from aiwatch.probes.result import ProbeResult
from aiwatch.stats import Mean, Proportion, SufficientStats


def field_value(result: ProbeResult, field: str) -> float | None:
    """The probe result's value of a ``source: probe`` metric field, if it has one."""
    if field == "success":
        return 1.0 if result.success else 0.0
    if not result.success:
        return None
    value: float | int | None
    if field == "duration":
        value = result.duration
    elif field == "time_to_first_token":
        value = result.time_to_first_token
    elif field == "time_per_output_token":
        value = result.time_per_output_token
    elif field == "cost":
        value = result.cost_usd
    elif field == "output_tokens":
        value = result.output_tokens
    else:
        return None
    return None if value is None else float(value)


def variants_of(experiment: Experiment, target: str) -> list[str]:
    """The variants of ``experiment`` whose probes are ``target``'s."""
    return [v.name for v in experiment.variants if v.target == target]


def from_probe(experiment: Experiment, result: ProbeResult) -> Arms:
    """What ``result`` adds to ``experiment``'s arms (empty if no variant probes its target)."""
    arms: Arms = {}
    for variant in variants_of(experiment, result.target):
        for metric in experiment.metrics:
            if metric.source != "probe" or metric.field is None:
                continue
            value = field_value(result, metric.field)
            if value is None:
                continue
            stats = _one(metric, value)
            key = (variant, metric.name)
            arms[key] = merge(arms[key], stats) if key in arms else stats
    return arms


def is_proportion(metric: ExperimentMetric) -> bool:
    """Only ``success`` is a 0/1 outcome; a measured field (seconds, USD, tokens) is a mean
    of its values whatever ``kind`` says, never a count of successes."""
    return metric.kind == "proportion" and metric.field == "success"


def _one(metric: ExperimentMetric, value: float) -> SufficientStats:
    if is_proportion(metric):
        return Proportion(n=1, successes=value)
    # A ratio over probes has no natural unit pairing; each probe is one unit of a mean.
    return Mean(n=1, sum=value, sum_squares=value * value)
