"""Experiment config problems that ``aiwatch check config`` reports at their key."""

import subprocess
import sys
from pathlib import Path

CONFIG = """\
datasource: {url: http://127.0.0.1:9090}
experiments:
  - name: checkout
    control: a
    variants: [{name: a}, {name: b}]
    metrics:
      - name: conversion
        source: promql
        numerator: 'sum(increase(orders_total{variant="$variant"}[$__range])'
        denominator: 'sum(increase(sessions_total{variant="$variant"}[$__range]))'
      - name: conversion
        source: observations
        kind: mean
"""


def test_promql_syntax_and_duplicate_metric_names_are_located_problems(tmp_path: Path) -> None:
    """A PromQL query that cannot parse and a metric named twice fail the check, each at
    its key; a valid query with ``$variant`` and ``$__range`` passes."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "aiwatch", "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.splitlines() + done.stdout.splitlines()
    numerator = [line for line in lines if "metrics[0].numerator" in line]
    assert len(numerator) == 1, lines
    assert numerator[0].startswith(f"{path}:9:20: ")
    assert "invalid PromQL: unclosed left parenthesis" in numerator[0]
    assert not [line for line in lines if "metrics[0].denominator" in line], lines
    duplicate = [line for line in lines if "metrics[1].name" in line]
    assert len(duplicate) == 1, lines
    assert "duplicate metric name 'conversion'" in duplicate[0]

    fixed = CONFIG.replace("[$__range])'", "[$__range]))'").replace(
        "      - name: conversion\n        source: observations",
        "      - name: rating\n        source: observations",
    )
    path.write_text(fixed)
    done = subprocess.run(
        [sys.executable, "-m", "aiwatch", "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
