"""Experiment config problems that ``aiwatch check config`` reports at their key."""

import re
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
        field: duration
"""

_SECOND = "      - name: conversion\n        source: observations"
FIXED = (
    CONFIG.replace("[$__range])'", "[$__range]))'")
    .replace(_SECOND, _SECOND.replace("conversion", "rating"))
    .replace("        field: duration\n", "")
)


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiwatch", "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_bad_promql_duplicate_names_and_a_stray_field_are_located_problems(
    tmp_path: Path,
) -> None:
    """A PromQL query that cannot parse, a metric named twice and a probe-only ``field`` on
    another source fail the check, each at its key; fixed, the config passes (a valid query
    with ``$variant`` and ``$__range`` included)."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(CONFIG)
    done = check(path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.splitlines() + done.stdout.splitlines()

    def at(key: str) -> list[str]:
        return [line for line in lines if f"experiments[0].metrics[{key}" in line]

    assert len(at("0].numerator")) == 1, lines
    assert at("0].numerator")[0].startswith(f"{path}:9:20: ")
    assert re.search(
        r"invalid PromQL: 1:\d+: parse error: unclosed left parenthesis", at("0].numerator")[0]
    )
    assert not at("0].denominator"), lines
    assert len(at("1].name")) == 1, lines
    assert "duplicate metric name 'conversion'" in at("1].name")[0]
    assert len(at("1].field")) == 1, lines
    assert "field only applies to source: probe, not observations" in at("1].field")[0]

    path.write_text(FIXED)
    done = check(path)
    assert done.returncode == 0, done.stdout + done.stderr
