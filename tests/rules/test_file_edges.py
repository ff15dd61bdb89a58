"""Odd rule and rule-test files get promtool's verdict from ``aiwatch check|test rules``."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROMTOOL = shutil.which("promtool")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rule_file_that_is_not_utf8_is_a_failed_check(tmp_path: Path) -> None:
    """A rule file in another encoding fails its check with a located line, no traceback."""
    path = tmp_path / "latin1.yml"
    path.write_bytes("groups: []\n# caf\xe9\n".encode("latin-1"))
    result = run("check", "rules", str(path))
    assert result.returncode == 1
    assert f"{path}:1:1: (file): cannot read: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_rule_test_file_that_is_not_utf8_fails_without_traceback(tmp_path: Path) -> None:
    """``aiwatch test rules`` on a file in another encoding reports FAILED and exits 1."""
    path = tmp_path / "latin1.yml"
    path.write_bytes("tests: []\n# caf\xe9\n".encode("latin-1"))
    result = run("test", "rules", str(path))
    assert result.returncode == 1
    assert "FAILED" in result.stderr
    assert "not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_rule_test_file_fails_in_go_words(tmp_path: Path) -> None:
    """A test file that does not exist fails like an unreadable file in Go, not with a
    Python error number."""
    path = tmp_path / "missing.yml"
    result = run("test", "rules", str(path))
    assert result.returncode == 1
    assert f"open {path}: no such file or directory" in result.stderr
    assert "Errno" not in result.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool")
@pytest.mark.parametrize(("duration", "valid"), [("292y", True), ("293y", False)])
def test_for_duration_range_matches_promtool(tmp_path: Path, duration: str, valid: bool) -> None:
    """Prometheus durations end at about 292 years; both tools agree on where."""
    path = tmp_path / "rules.yml"
    path.write_text(
        f"groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    for: {duration}\n"
    )
    assert PROMTOOL is not None
    promtool = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = run("check", "rules", str(path))
    assert (promtool.returncode == 0) is valid, promtool.stdout + promtool.stderr
    assert ours.returncode == promtool.returncode, ours.stdout + ours.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool")
@pytest.mark.parametrize(("limit", "valid"), [("-1", True), ("0", True), ("3", True)])
def test_group_limit_verdicts_match_promtool(tmp_path: Path, limit: str, valid: bool) -> None:
    """A negative ``limit`` means no limit in Prometheus, as 0 does."""
    path = tmp_path / "rules.yml"
    path.write_text(f"groups:\n- name: a\n  limit: {limit}\n  rules:\n  - alert: X\n    expr: up\n")
    assert PROMTOOL is not None
    promtool = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = run("check", "rules", str(path))
    assert (promtool.returncode == 0) is valid, promtool.stdout + promtool.stderr
    assert ours.returncode == promtool.returncode, ours.stdout + ours.stderr
