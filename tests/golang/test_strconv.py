"""Go's ParseFloat and shortest FormatFloat, judged by promtool: Go's behaviour is the oracle."""

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aiwatch.golang.strconv import NumError, format_float, parse_float, parse_float_or_none
from aiwatch.golang.template.funcs import humanize

PROMTOOL = shutil.which("promtool")

# Inputs on which a hand-made port can go wrong: underscores, signs on NaN, hexadecimal
# mantissas, partial words, overflow and underflow.
INPUTS = (
    "1_000", "+nan", "nan", "NaN", "-nan", "0x1p3", "0x_1p3", "0x1_0p0", "1_000.5", "_1",
    "1__0", "0x1P-2", "1e3", "0x10", "+Inf", "-infinity", "infinity", "+infinit", "1_e3",
    ".5", "5.", "0x.8p1", "1e_3", "0X1p3", "0b101", "0o7", "0_1", "1e400", "-1e400",
    "1e-400", "0x1p-1080", "0x1p1024", "1.7976931348623159e308", "00x1p3", "0x", "0x1",
    "1e", "1e+", "+.e1", ".", "+5", "-0", "0x1.p0", "0xp1", "1.5E3",
)  # fmt: skip


def test_the_three_inputs_the_two_old_ports_disagreed_on() -> None:
    """Go takes "1_000" (underscores between digits) and "0x1p3", and refuses a signed NaN."""
    assert parse_float("1_000") == 1000.0
    assert parse_float("0x1p3") == 8.0
    with pytest.raises(NumError, match=r'^strconv.ParseFloat: parsing "\+nan": invalid syntax$'):
        parse_float("+nan")
    assert math.isnan(parse_float("nan"))


def test_out_of_range_is_an_error_and_underflow_is_zero() -> None:
    """Past float64 is Go's "value out of range"; below the smallest subnormal is 0."""
    with pytest.raises(NumError, match="value out of range"):
        parse_float("1e400")
    assert parse_float_or_none("0x1p1024") is None
    assert parse_float("1e-400") == 0.0


def test_format_float_shortest_forms() -> None:
    """'f' never uses an exponent, 'g' from 1e+06 and below 1e-04, 'e'/'E' always."""
    assert format_float(1e21, "f") == "1000000000000000000000"
    assert format_float(1e6, "g") == "1e+06"
    assert format_float(123456.0, "g") == "123456"
    assert format_float(0.0001, "g") == "0.0001"
    assert format_float(0.00001, "g") == "1e-05"
    assert format_float(1500.0, "e") == "1.5e+03"
    assert format_float(-0.25, "E") == "-2.5E-01"
    assert format_float(math.nan, "f") == "NaN"
    assert format_float(-math.inf, "g") == "-Inf"


def _promtool_humanize(tmp: Path, inputs: tuple[str, ...]) -> list[str]:
    """What promtool's ``humanize`` (Go's ParseFloat inside) makes of each input."""
    rules = ["groups:", "- name: g", "  rules:"]
    tests = ["rule_files: [rules.yml]", "evaluation_interval: 1m", "tests:", "- interval: 1m"]
    tests.append("  alert_rule_test:")
    for i, text in enumerate(inputs):
        rules += [f"  - alert: A{i}", "    expr: vector(1)", "    annotations:"]
        rules.append(f"      v: '{{{{ \"{text}\" | humanize }}}}'")
        tests += ["  - eval_time: 0m", f"    alertname: A{i}"]
        tests.append("    exp_alerts: [{exp_labels: {}, exp_annotations: {v: 'x'}}]")
    (tmp / "rules.yml").write_text("\n".join(rules) + "\n")
    (tmp / "t.yml").write_text("\n".join(tests) + "\n")
    done = subprocess.run(
        [PROMTOOL or "promtool", "test", "rules", "t.yml"],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = done.stdout + done.stderr
    seen: dict[str, str] = {}
    for block in re.split(r"\n\s*alertname: ", out)[1:]:
        name = block.split(",", 1)[0]
        got = block.split("got:", 1)[1]
        seen[name] = re.findall(r'Annotations:\{v="(.*)"\}', got)[0]
    return [seen[f"A{i}"] for i in range(len(inputs))]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_parse_float_agrees_with_promtool(tmp_path: Path) -> None:
    """For every input, aiwatch's humanize accepts or refuses it as promtool does, same value."""
    seen = _promtool_humanize(tmp_path, INPUTS)
    for text, theirs in zip(INPUTS, seen, strict=True):
        value = parse_float_or_none(text)
        if "error calling humanize" in theirs:
            assert value is None, (text, theirs)
            reason = "value out of range" if "out of range" in theirs else "invalid syntax"
            with pytest.raises(NumError, match=reason):
                parse_float(text)
        else:
            assert value is not None, (text, theirs)
            assert humanize(text) == theirs, (text, theirs)
