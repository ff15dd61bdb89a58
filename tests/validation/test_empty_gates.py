"""Gates that would pass whatever the calls answer: margins without a baseline are an error,
and a gate that checks nothing (or a baseline compared on nothing) is warned about."""

from pathlib import Path
from typing import Any

from tests.cli import aiwatch_argv, run_cli

from .conftest import Mock, validate


def suite_of(mock: Mock, *gates: dict[str, Any]) -> dict[str, Any]:
    """Two targets at the mock, two repetitions of their own prompt, the gates given."""
    return {
        "targets": [mock.target("current", "base"), mock.target("candidate", "same")],
        "validation": {"repetitions": 2, "gates": list(gates)},
    }


async def test_margins_without_a_baseline_stop_the_run(tmp_path: Path, mock: Mock) -> None:
    """``non_inferiority`` with no ``baseline`` would compare nothing: exit 2 with the
    gate's position, and no call is made."""
    suite = suite_of(mock, {"target": "candidate", "non_inferiority": {"latency": 0.1}})
    run = await validate(tmp_path, suite)
    assert run.code == 2, run.process.stdout + run.process.stderr
    assert mock.requests == 0
    wanted = ": validation.gates[0].non_inferiority: needs a baseline to compare with"
    assert any(wanted in line for line in run.process.stderr.splitlines())


async def test_a_gate_that_checks_nothing_is_warned_about(tmp_path: Path, mock: Mock) -> None:
    """A gate without thresholds or margins passes even when every call fails, so both
    ``check config`` and ``validate`` say so; a baseline with no margin is named too."""
    mock.state.default["status"] = 500
    suite = suite_of(mock, {"target": "candidate", "baseline": "current"})
    run = await validate(tmp_path, suite)
    assert run.code == 0
    assert run.report is not None
    assert run.report["arms"]["candidate"]["errors"] == {"server_error": 2}
    checked = run_cli(aiwatch_argv("check", "config", str(tmp_path / "suite.yml")), timeout=60)
    assert checked.returncode == 0
    for output in (run.process.stderr, checked.stdout + checked.stderr):
        warnings = [line for line in output.splitlines() if line.startswith("WARNING: ")]
        assert len(warnings) == 2, output
        assert "validation.gates[0]: checks nothing" in warnings[1]
        assert "even when every call fails" in warnings[1]
        assert (
            "validation.gates[0].baseline: is compared only through non_inferiority"
            in (warnings[0])
        )


async def test_gates_that_check_something_get_no_warning(tmp_path: Path, mock: Mock) -> None:
    """Thresholds alone, or a baseline with a margin, are gates: no warning."""
    suite = suite_of(
        mock,
        {"target": "candidate", "thresholds": {"min_success_ratio": 0.5}},
        {"target": "current", "baseline": "candidate", "non_inferiority": {"latency": 5}},
    )
    run = await validate(tmp_path, suite)
    assert run.code == 0, run.process.stdout + run.process.stderr
    assert "WARNING" not in run.process.stderr
