"""A trailing ``---`` (an empty second document) is accepted, as Prometheus accepts it."""

from pathlib import Path

import pytest

from aiwatch.config import ConfigError, parse_config
from tests.cli import aiwatch


def test_trailing_document_marker_is_accepted() -> None:
    """``---`` before and after the config, with nothing after the last one, loads."""
    config = parse_config("---\ntargets: []\n---\n", "a.yml", env={})
    assert config.targets == ()


def test_second_document_with_content_is_a_located_problem() -> None:
    """A second non-empty document would be ignored silently; it is reported instead."""
    with pytest.raises(ConfigError) as info:
        parse_config("targets: []\n---\nglobal: {}\n", "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:3:1: (root): only one YAML document is allowed; this is a second one"
    ]


def test_rule_file_with_trailing_marker_passes_like_promtool(tmp_path: Path) -> None:
    """``aiwatch check rules`` agrees with ``promtool check rules`` on a trailing ``---``."""
    path = tmp_path / "rules.yml"
    path.write_text("---\ngroups:\n- name: a\n  rules:\n  - alert: X\n    expr: 1\n---\n")
    result = aiwatch("check", "rules", str(path))
    assert result.returncode == 0, result.stderr
    assert "SUCCESS: 1 rules found" in result.stdout
