"""``aiwatch check rules``: valid files count rules like promtool; problems are located."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from aiwatch.rules.files import RuleFileError, check_rules, parse_rule_text

VALID = """\
groups:
  - name: g1
    interval: 30s
    limit: 10
    rules:
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: page}
        annotations: {summary: '{{ $labels.instance }} down, {{ $value | humanize }}'}
      - record: job:up:sum
        expr: sum by (job) (up)
  - name: g2
    rules:
      - record: x
        expr: vector(1)
"""

BAD = """\
groups:
  - name: g1
    rules:
      - alert: Broken
        expr: sum(rate(x[5m])
        labels: {"bad-name": x}
        annotations: {summary: '{{ humanise $value }}'}
      - record: bad name
        expr: up
        for: 1m
      - alert: Both
        record: both
        expr: up
  - name: g1
    rules: []
"""


def test_valid_file_loads_into_groups() -> None:
    """Durations, limits, labels and annotations land in the group and rule specs."""
    groups = parse_rule_text(VALID, "rules.yml")
    assert [g.name for g in groups] == ["g1", "g2"]
    assert groups[0].interval_s == 30.0
    assert groups[0].limit == 10
    assert groups[1].interval_s is None
    down = groups[0].rules[0]
    assert (down.kind, down.for_s, down.keep_firing_for_s) == ("alert", 300.0, 60.0)
    assert down.labels == (("severity", "page"),)


def test_every_problem_is_reported_with_its_position() -> None:
    """PromQL, label names, templates, recording-rule fields and duplicates are all errors."""
    with pytest.raises(RuleFileError) as caught:
        parse_rule_text(BAD, "bad.yml")
    lines = [str(p) for p in caught.value.problems]
    text = "\n".join(lines)
    assert "bad.yml:5:15: groups[0].rules[0].expr: could not parse expression" in text
    assert "groups[0].rules[0].labels.bad-name: invalid label name: bad-name" in text
    assert 'function "humanise" not defined' in text
    assert "invalid recording rule name: bad name" in text
    assert "invalid field 'for' in recording rule" in text
    assert "only one of 'record' and 'alert' must be set" in text
    assert 'bad.yml:14:11: groups[1].name: group name "g1" is repeated in the same file' in text


def test_check_rules_output_and_exit_code(tmp_path: Path) -> None:
    """promtool's report: ``SUCCESS: N rules found`` per valid file, exit 1 if any is bad."""
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text(VALID)
    bad.write_text(BAD)
    out, err = io.StringIO(), io.StringIO()
    assert check_rules([str(good)], out=out, err=err) == 0
    assert f"Checking {good}\n  SUCCESS: 3 rules found\n" in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert check_rules([str(good), str(bad)], out=out, err=err) == 1
    assert "  FAILED:" in err.getvalue()
    assert f"{bad}:5:15:" in err.getvalue()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_verdicts_agree_with_promtool_check_rules(tmp_path: Path) -> None:
    """The same files pass and fail under ``promtool check rules``."""
    suite = Path(__file__).resolve().parents[1] / "conformance" / "rules"
    files = sorted(suite.glob("*.yml"))
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    for path in [*files, bad]:
        done = subprocess.run(
            ["promtool", "check", "rules", str(path)], capture_output=True, check=False
        )
        ours = check_rules([str(path)], out=io.StringIO(), err=io.StringIO())
        assert (ours == 0) == (done.returncode == 0), path


SINGLE_PROBLEMS = {
    "bad_expr": "groups: [{name: g, rules: [{record: r, expr: 'sum('}]}]",
    "no_expr": "groups: [{name: g, rules: [{alert: A}]}]",
    "dup_group": "groups: [{name: g, rules: []}, {name: g, rules: []}]",
    "empty_group_name": "groups: [{name: '', rules: []}]",
    "label_name": "groups: [{name: g, rules: [{alert: A, expr: up, labels: {'a-b': x}}]}]",
    "dunder_label": "groups: [{name: g, rules: [{alert: A, expr: up, labels: {__name__: x}}]}]",
    "annotation_name": "groups: [{name: g, rules: [{alert: A, expr: up, annotations: {'1x': y}}]}]",
    "template": "groups: [{name: g, rules: [{alert: A, expr: up, labels: {x: '{{ if }}'}}]}]",
    "record_for": "groups: [{name: g, rules: [{record: r, expr: up, for: 1m}]}]",
    "record_keep": "groups: [{name: g, rules: [{record: r, expr: up, keep_firing_for: 1m}]}]",
    "record_annotations": "groups: [{name: g, rules: [{record: r, expr: up, annotations: {a: b}}]}]",  # noqa: E501
    "record_name": "groups: [{name: g, rules: [{record: 'a-b', expr: up}]}]",
    "both": "groups: [{name: g, rules: [{record: r, alert: A, expr: up}]}]",
    "neither": "groups: [{name: g, rules: [{expr: up}]}]",
    "bad_for": "groups: [{name: g, rules: [{alert: A, expr: up, for: 5x}]}]",
    "unknown_key": "groups: [{name: g, rules: [{alert: A, expr: up, severity: page}]}]",
    "unknown_group_key": "groups: [{name: g, rules: [], labels: {a: b}}]",
    "yaml": "groups: [{name: g\n",
}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
@pytest.mark.parametrize("name", sorted(SINGLE_PROBLEMS))
def test_each_single_problem_fails_under_both(name: str, tmp_path: Path) -> None:
    """Each kind of mistake alone makes both ``promtool check rules`` and aiwatch fail."""
    path = tmp_path / f"{name}.yml"
    path.write_text(SINGLE_PROBLEMS[name])
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, check=False
    )
    err = io.StringIO()
    assert done.returncode == 1
    assert check_rules([str(path)], out=io.StringIO(), err=err) == 1
    assert f"{path}:" in err.getvalue()
