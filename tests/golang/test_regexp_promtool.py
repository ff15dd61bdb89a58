"""aiwatch's regexes agree with promtool's: what matches, what is refused and the message."""

import io
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from aiwatch.golang.regexp import RegexpError, compile_anchored
from aiwatch.rules import unittest as rule_unittest
from aiwatch.rules.files import check_rules

RULES = Path(__file__).resolve().parent / "rules"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")

PATTERNS = [
    # refused by Go: Python syntax, RE2 extensions Go lacks, malformed patterns
    "(?=a)", "(?<!a)b", "(a)\\1", "a*+", "a++", "(?>a)", "(?#c)", "(?x)a b", "\\Z", "\\C",
    "(?<n>a)", "(?P<é>a)", "(?P<>a)", "(?P<n", "(a", "a)|(b", "[a", "[]", "abc\\", "\\Q",
    "a{1001}", "a{2,1}", "x{2}{3}", "[z-a]", "*", "a|*", "[[:foo:]]", "\\p{Foo}", "(?i-)",
    "\\8", "\\E", "[\\Qa\\E]", "\\x{110000}",
    # accepted by Go
    "\\pL+", "\\p{Greek}", "\\QA.B\\E", "(?U)a+", "(?s).", "[[:^digit:]]", "[[:word:]]",
    "(?P<n>a)(?P<n>b)", "\\0", "\\777", "\\_", "a{1000}", "a{,3}", "\\A\\z", "(?i)Σ",
]  # fmt: skip


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@needs_promtool
def test_go_syntax_rule_test_passes_under_promtool_and_aiwatch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``\\pL+``, ``\\QA.B\\E``, ``(?U)``, ``\\p{Greek}``, ``(?s)`` and Go's ``$1x`` in
    selectors, ``label_replace`` and templates give promtool's results under aiwatch."""
    done = _promtool("test", "rules", "go_regexp.yml", cwd=RULES)
    assert "SUCCESS" in done.stdout, done.stdout + done.stderr
    monkeypatch.chdir(RULES)
    out, err = io.StringIO(), io.StringIO()
    code = rule_unittest.test_rules(["go_regexp.yml"], out=out, err=err)
    assert code == 0, out.getvalue() + err.getvalue()


def _selector_test_file(path: Path) -> None:
    lines = [
        "tests:",
        "  - interval: 1m",
        "    input_series:",
        "      - series: 'x{v=\"b\"}'",
        "        values: '1'",
        "    promql_expr_test:",
    ]
    for pattern in PATTERNS:
        expr = json.dumps("x{v=~" + json.dumps(pattern) + "}")
        lines += [f"      - expr: {expr}", "        eval_time: 0", "        exp_samples: []"]
    path.write_text("\n".join(lines) + "\n")


@needs_promtool
def test_refusals_and_messages_are_promtools(tmp_path: Path) -> None:
    """Each pattern is refused exactly when promtool refuses it, with Go's very message."""
    _selector_test_file(tmp_path / "t.yml")
    done = _promtool("test", "rules", "t.yml", cwd=tmp_path)
    report = done.stdout + done.stderr
    go: dict[str, str] = {}
    for found in re.finditer(r'expr: (".*?"), time: 0s, err: 1:3: parse error: (.*)', report):
        go[json.loads(found.group(1))] = found.group(2)
    assert go, report
    differences = []
    for pattern in PATTERNS:
        try:
            compile_anchored(pattern)
            ours = "accepted"
        except RegexpError as err:
            ours = str(err)
        theirs = go.get("x{v=~" + json.dumps(pattern) + "}", "accepted")
        if ours != theirs:
            differences.append(f"{pattern!r}: promtool {theirs!r}, aiwatch {ours!r}")
    assert not differences, "\n".join(differences)


def test_invalid_pattern_in_a_rule_file_is_located(tmp_path: Path) -> None:
    """``aiwatch check rules`` names the file, line and column, and Go's message."""
    path = tmp_path / "rules.yml"
    path.write_text(
        'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: x{v=~"(a"}\n'
    )
    err = io.StringIO()
    assert check_rules([str(path)], out=io.StringIO(), err=err) == 1
    assert f"{path}:5:15: " in err.getvalue()
    assert "error parsing regexp: missing closing ): `^(?:(a)$`" in err.getvalue()


def test_pattern_too_large_is_refused_quickly() -> None:
    """``\\pL{1000}`` (Go compiles it in about a second, into hundreds of MB) is refused
    within a second: RE2's program budget, not Go's, bounds it."""
    started = time.perf_counter()
    with pytest.raises(RegexpError, match="expression too large"):
        compile_anchored("[\\pL\\pN]{999}")
    assert time.perf_counter() - started < 1.0
