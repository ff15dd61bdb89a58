"""PromQL parse errors carry a line and column, as ``promtool check rules`` reports them."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import aiwatch

PROMTOOL = shutil.which("promtool")

MISTAKES = [
    "sum(rate(aiwatch_probes_total[5m])",
    "rate(aiwatch_probes_total[5m]) > ",
    'aiwatch_probe_success{target="a"',
    "aiwatch_probe_success bar",
    "sum(\n  rate(aiwatch_probes_total[5m]) by_target\n)",
    "aiwatch_probe_success +",
]


def _rule_file(path: Path, expr: str) -> Path:
    indented = "\n".join("          " + line for line in expr.splitlines())
    path.write_text(
        f"groups:\n  - name: g\n    rules:\n      - record: r\n        expr: |-\n{indented}\n"
    )
    return path


def _position(output: str) -> str:
    """What follows 'could not parse expression: ' (and aiwatch's quote of the query)."""
    tail = output.split("could not parse expression: ", 1)[1].strip()
    return tail.split("': ", 1)[1] if tail.startswith("cannot parse") else tail


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.parametrize("expr", MISTAKES)
def test_parse_error_position_and_words_match_promtool(tmp_path: Path, expr: str) -> None:
    """For common mistakes (an unclosed bracket, a dangling operator, a stray word), aiwatch
    says ``LINE:COL: parse error: …`` with promtool's position and words."""
    assert PROMTOOL is not None
    path = _rule_file(tmp_path / "rules.yml", expr)
    theirs = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    ours = aiwatch("check", "rules", str(path))
    assert theirs.returncode == ours.returncode == 1
    expected = _position(theirs.stdout + theirs.stderr)
    got = _position(ours.stdout + ours.stderr)
    assert got.split(": parse error: ")[0] == expected.split(": parse error: ")[0], (got, expected)
    assert expected.split(": parse error: ")[1].startswith(got.split(": parse error: ")[1]), (
        got,
        expected,
    )
