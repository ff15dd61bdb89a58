"""Probe results as experiment data."""

import dataclasses

from aiwatch.config.model import Experiment
from aiwatch.experiments.collect import from_probe
from aiwatch.experiments.tracker import expected_kind
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.scheduler import failed_result
from aiwatch.stats import Mean, Proportion

from .helpers import experiment_config

TARGETS = [
    {"name": "old", "kind": "openai_chat", "url": "http://127.0.0.1:1/v1", "model": "m"},
    {"name": "new", "kind": "openai_chat", "url": "http://127.0.0.1:1/v1", "model": "m"},
]


def _experiment() -> Experiment:
    return experiment_config(
        [
            {
                "name": "models",
                "control": "current",
                "variants": [
                    {"name": "current", "target": "old"},
                    {"name": "candidate", "target": "new"},
                ],
                "metrics": [
                    {"name": "ok", "source": "probe", "field": "success"},
                    {"name": "latency", "source": "probe", "field": "duration", "goal": "decrease"},
                    {"name": "ttft", "source": "probe", "field": "time_to_first_token"},
                    {"name": "tokens", "source": "probe", "field": "output_tokens"},
                    {"name": "rating", "source": "observations"},
                ],
            }
        ],
        targets=TARGETS,
    ).experiments[0]


def _result(target: str, *, success: bool, duration: float) -> ProbeResult:
    base = failed_result(
        experiment_config([], targets=TARGETS).targets[0],
        error_type=None if success else "server_error",
        error="" if success else "500",
        started=0.0,
        duration=duration,
    )
    return dataclasses.replace(base, target=target, success=success, output_tokens=3)


def test_a_passing_probe_feeds_every_probe_metric_of_its_variant() -> None:
    """Success counts 1; duration and tokens are added; a field the probe lacks adds nothing."""
    arms = from_probe(_experiment(), _result("new", success=True, duration=0.25))
    assert arms == {
        ("candidate", "ok"): Proportion(n=1, successes=1.0),
        ("candidate", "latency"): Mean(n=1, sum=0.25, sum_squares=0.0625),
        ("candidate", "tokens"): Mean(n=1, sum=3.0, sum_squares=9.0),
    }


def test_a_failed_probe_counts_only_as_a_failure() -> None:
    """A failure's timing describes the failure, so only the success metric sees it."""
    arms = from_probe(_experiment(), _result("old", success=False, duration=10.0))
    assert arms == {("current", "ok"): Proportion(n=1, successes=0.0)}


def test_other_targets_feed_nothing() -> None:
    """A target that no variant probes adds no data."""
    assert from_probe(_experiment(), _result("elsewhere", success=True, duration=1.0)) == {}


def test_a_measured_field_is_a_mean_even_when_its_kind_says_proportion() -> None:
    """`kind: proportion` on a duration would treat seconds as successes (0.83 of a success,
    or more than one); a measured field is always the mean of its values, stored and
    analysed as one."""
    experiment = experiment_config(
        [
            {
                "name": "models",
                "control": "current",
                "variants": [
                    {"name": "current", "target": "old"},
                    {"name": "candidate", "target": "new"},
                ],
                "metrics": [
                    {
                        "name": "latency",
                        "source": "probe",
                        "field": "duration",
                        "kind": "proportion",
                    }
                ],
            }
        ],
        targets=TARGETS,
    ).experiments[0]
    arms = from_probe(experiment, _result("new", success=True, duration=1.5))
    assert arms == {("candidate", "latency"): Mean(n=1, sum=1.5, sum_squares=2.25)}
    assert expected_kind(experiment.metrics[0]) == "mean"
