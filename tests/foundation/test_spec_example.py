"""The config example of the product contract loads, and each problem is reported once."""

import pytest

from aiwatch.config import ConfigError, parse_config

EXPERIMENT = """\
targets:
  - {name: current, kind: http, url: "http://127.0.0.1:1/a"}
  - {name: candidate, kind: http, url: "http://127.0.0.1:1/b"}
experiments:
  - name: e
    control: a
    variants:
      - {name: a, target: current}
      - {name: b, target: %s}
    metrics:
      - {name: success_rate, source: probe, kind: proportion, goal: increase}
      - {name: latency, source: probe, kind: mean, field: duration, goal: decrease}
"""


def test_proportion_probe_metric_without_field_measures_success() -> None:
    """``{source: probe, kind: proportion}`` (as in the contract's example) means success."""
    config = parse_config(EXPERIMENT % "candidate", "a.yml", env={})
    metrics = config.experiments[0].metrics
    assert [(m.name, m.kind, m.field) for m in metrics] == [
        ("success_rate", "proportion", "success"),
        ("latency", "mean", "duration"),
    ]


def test_unknown_variant_target_is_reported_once() -> None:
    """Two probe metrics do not repeat the same problem about a variant's target."""
    with pytest.raises(ConfigError) as info:
        parse_config(EXPERIMENT % "nowhere", "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:9:27: experiments[0].variants[1].target: 'nowhere' is not a configured target"
    ]
