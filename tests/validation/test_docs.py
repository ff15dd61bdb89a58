"""docs/release-gates.md: its suite example is a valid suite, and its CI snippets run it."""

import re
from pathlib import Path

import yaml

from aiwatch.config import check_config
from aiwatch.config.yamlpos import load_with_positions
from aiwatch.validation.plan import plan, problems

DOC = Path(__file__).resolve().parents[2] / "docs" / "release-gates.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_suite_example_is_a_valid_suite(tmp_path: Path) -> None:
    """The copy-paste suite passes ``check config`` and plans 50 calls per target."""
    suite = next(b for b in _blocks("yaml") if "validation:" in b)
    path = tmp_path / "release-gate.yml"
    path.write_text(suite)
    config, _ = check_config(str(path), env={"OPENAI_API_KEY": "sk-test"})
    assert config.validation is not None
    _, positions = load_with_positions(suite)
    found = problems(config.validation, config.targets, file=str(path), positions=positions)
    assert found == []
    calls = plan(config.validation, config.targets, config.validation.gates)
    assert len(calls) == 100 <= config.validation.max_calls
    assert {c.target.name for c in calls} == {"chat-current", "chat-candidate"}


def test_ci_snippets_run_the_command_and_keep_the_junit_file() -> None:
    """Both CI snippets are YAML, run ``aiwatch validate`` with ``--junit``, keep the file."""
    snippets = [yaml.safe_load(b) for b in _blocks("yaml") if "aiwatch validate" in b]
    assert len(snippets) == 2
    github, gitlab = snippets
    steps = github["jobs"]["validate"]["steps"]
    assert any("aiwatch validate release-gate.yml --junit" in s.get("run", "") for s in steps)
    assert gitlab["release-gate"]["artifacts"]["reports"]["junit"] == "validation.xml"


def test_allowed_errors_are_the_error_taxonomy() -> None:
    """``allowed_errors`` accepts exactly the error types a probe can report."""
    from aiwatch.config import schema
    from aiwatch.probes.result import ERROR_TYPES

    gate = schema()["$defs"]["gate"]
    allowed = gate["properties"]["thresholds"]["properties"]["allowed_errors"]["items"]["enum"]
    assert allowed == list(ERROR_TYPES)
