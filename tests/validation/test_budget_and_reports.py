"""The hard budget (counted at the mock), JUnit XML against the Jenkins schema, usage errors."""

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema
import yaml

from .conftest import PRICE, Mock, validate

SCHEMA = Path(__file__).with_name("junit-10.xsd")


def three_arms(mock: Mock, **validation: Any) -> dict[str, Any]:
    """Two gates over three targets, two prompts, 50 repetitions: 300 calls planned."""
    return {
        "targets": [
            mock.target("current", "base"),
            mock.target("candidate", "same"),
            mock.target("other", "slow"),
        ],
        "validation": {
            "prompt_sets": {"two": ["a", "b"]},
            "repetitions": 50,
            "concurrency": 8,
            "gates": [
                {"target": "candidate", "prompts": "two", "baseline": "current"},
                {"target": "other", "prompts": "two", "thresholds": {"min_success_ratio": 0.5}},
            ],
            **validation,
        },
    }


async def test_max_calls_is_never_exceeded(tmp_path: Path, mock: Mock) -> None:
    """300 calls planned, 8 at a time, ``max_calls: 37``: the mock sees exactly 37, exit 1."""
    run = await validate(tmp_path, three_arms(mock, max_calls=37))
    assert mock.requests == 37
    assert run.code == 1
    budget = run.check("budget")
    assert budget["passed"] is False
    assert budget["values"] == {
        "calls": 37,
        "planned": 300,
        "cost": budget["values"]["cost"],
        "stopped_by": "max_calls",
    }
    assert "max_calls reached after 37 of 300 planned calls" in budget["message"]
    assert run.report is not None
    # Interleaved across the three arms: a cut leaves them comparable.
    calls = sorted(arm["calls"] for arm in run.report["arms"].values())
    assert calls == [12, 12, 13]


async def test_max_cost_is_never_exceeded(tmp_path: Path, mock: Mock) -> None:
    """With ``max_cost`` the spend stays within it, by the mock's own token counts."""
    max_cost = 4e-5
    run = await validate(tmp_path, three_arms(mock, max_calls=300, max_cost=max_cost))
    assert run.code == 1
    budget = run.check("budget")["values"]
    assert budget["stopped_by"] == "max_cost"
    assert budget["cost"] <= max_cost
    assert mock.requests == budget["calls"]
    # Each call: a one-word prompt (1 input token) and 4 output tokens at PRICE.
    per_call = (1 * PRICE["input_per_million"] + 4 * PRICE["output_per_million"]) / 1e6
    assert mock.requests * per_call <= max_cost
    assert budget["cost"] == pytest.approx(mock.requests * per_call)
    # It stops when the next call would not fit, not long before.
    assert (mock.requests + 8) * per_call > max_cost


async def test_junit_validates_against_the_schema_and_counts_match(
    tmp_path: Path, mock: Mock
) -> None:
    """The JUnit file is valid Jenkins JUnit XML; tests and failures match the testcases."""
    suite = three_arms(mock, max_calls=40)
    suite["validation"]["gates"][0]["thresholds"] = {
        "min_success_ratio": 1.0,
        "max_latency_p50": "1ms",
    }
    suite["validation"]["gates"][0]["non_inferiority"] = {"latency": 0.5}
    junit = tmp_path / "junit.xml"
    run = await validate(tmp_path, suite, "--junit", str(junit))
    assert run.code == 1
    xmlschema.XMLSchema(SCHEMA).validate(str(junit))
    root = ET.parse(junit).getroot()
    cases = root.findall("./testsuite/testcase")
    failures = root.findall("./testsuite/testcase/failure")
    assert run.report is not None
    assert len(cases) == int(root.get("tests", "")) == len(run.report["checks"]) == 5
    failed = [c for c in run.report["checks"] if not c["passed"]]
    assert len(failures) == int(root.get("failures", "")) == len(failed) == 2
    for suite_el in root.findall("testsuite"):
        assert int(suite_el.get("tests", "")) == len(suite_el.findall("testcase"))
        assert int(suite_el.get("failures", "")) == len(suite_el.findall("testcase/failure"))
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "candidate[two]",
        "other[two]",
        "budget",
    ]
    messages = {f.get("message", "").split(":")[0] for f in failures}
    assert messages == {"max_latency_p50", "budget"}
    latency = next(f for f in failures if f.get("message", "").startswith("max_latency_p50"))
    assert "limit <= 1ms" in latency.get("message", "")


async def test_unknown_names_are_config_errors_with_positions(tmp_path: Path, mock: Mock) -> None:
    """A gate naming a missing target or prompt set exits 2 with FILE:LINE:COL problems."""
    suite = three_arms(mock)
    suite["validation"]["gates"][0]["baseline"] = "curent"
    suite["validation"]["gates"][1]["prompts"] = "three"
    run = await validate(tmp_path, suite)
    assert run.code == 2
    assert mock.requests == 0
    assert run.report is None
    lines = run.process.stderr.splitlines()
    assert lines[0] == f"FAILED: {tmp_path / 'suite.yml'}"
    known = "(targets: candidate, current, other)"
    wrong = f": validation.gates[0].baseline: no target named 'curent' {known}"
    assert any(wrong in line for line in lines)
    assert any("validation.gates[1].prompts: no prompt set named 'three'" in line for line in lines)
    assert all(line.split(":")[1].isdigit() for line in lines[1:])


async def test_schema_errors_look_like_check_config(tmp_path: Path, mock: Mock) -> None:
    """A bad threshold value is reported as ``aiwatch check config`` reports it; exit 2."""
    suite = three_arms(mock)
    suite["validation"]["gates"][0]["thresholds"] = {"max_latency_p95": 5, "min_sucess_ratio": 1}
    run = await validate(tmp_path, suite)
    assert run.code == 2
    assert "validation.gates[0].thresholds.max_latency_p95: 5 is not a valid duration" in (
        run.process.stderr
    )
    assert "did you mean 'min_success_ratio'" in run.process.stderr
    assert mock.requests == 0


async def test_usage_errors_exit_2(tmp_path: Path, mock: Mock) -> None:
    """An unknown ``--target``, no ``validation:``, a missing or unwritable file: exit 2."""
    run = await validate(tmp_path, three_arms(mock), "--target", "nope")
    assert run.code == 2
    assert "no gate for target 'nope' (gates: candidate, other)" in run.process.stderr
    bare = await validate(tmp_path, {"targets": [mock.target("a", "base")]}, name="bare.yml")
    assert bare.code == 2
    assert "validation: is required" in bare.process.stderr
    missing = await validate(tmp_path, three_arms(mock), "--config.file", "/nonexistent.yml")
    assert missing.code == 2
    assert "cannot read" in missing.process.stderr
    nowhere = str(tmp_path / "no-such-folder" / "junit.xml")
    unwritable = await validate(tmp_path, three_arms(mock), "--junit", nowhere)
    assert unwritable.code == 2
    assert f"cannot write {nowhere}" in unwritable.process.stderr
    assert mock.requests == 0


async def test_config_file_lends_its_targets(tmp_path: Path, mock: Mock) -> None:
    """With ``--config.file`` the suite gates the targets of an aiwatch config."""
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        yaml.safe_dump(
            {"targets": [mock.target("current", "base"), mock.target("candidate", "same")]}
        )
    )
    suite = {
        "validation": {
            "repetitions": 5,
            "gates": [{"target": "candidate", "thresholds": {"min_success_ratio": 1.0}}],
        }
    }
    run = await validate(tmp_path, suite, "--config.file", str(config))
    assert run.code == 0, run.process.stderr
    assert mock.requests == 5
    clash = {"targets": [mock.target("candidate", "base", price=PRICE)], **suite}
    run = await validate(tmp_path, clash, "--config.file", str(config), name="clash.yml")
    assert run.code == 2
    assert "targets[0].name: target 'candidate' is also in" in run.process.stderr
