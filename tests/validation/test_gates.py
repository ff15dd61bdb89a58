"""``aiwatch validate`` against the mock AI endpoint: exit codes, thresholds and margins."""

import asyncio
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.cli import aiwatch_argv

from .conftest import Mock, validate


def gate_suite(mock: Mock, candidate: str, **gate: Any) -> dict[str, Any]:
    """A suite comparing a candidate model with ``base``, 40 calls each over two prompts."""
    return {
        "targets": [mock.target("current", "base"), mock.target("candidate", candidate)],
        "validation": {
            "prompt_sets": {"smoke": ["Say hello.", [{"role": "user", "content": "2 + 2?"}]]},
            "repetitions": 20,
            "concurrency": 4,
            "max_calls": 200,
            "gates": [{"target": "candidate", "prompts": "smoke", "baseline": "current", **gate}],
        },
    }


HEALTHY = {
    "min_success_ratio": 0.99,
    "max_latency_p50": "2s",
    "max_latency_p95": "3s",
    "max_time_to_first_token_p95": "2s",
    "max_time_per_output_token": "500ms",
    "max_cost_per_call": 0.001,
    "allowed_errors": ["rate_limited"],
}


async def test_healthy_candidate_exits_0(tmp_path: Path, mock: Mock) -> None:
    """Same behaviour as the baseline, within every threshold and margin: exit 0, all ok."""
    margins = {"success_ratio": 0.01, "latency": 0.25, "cost_per_call": 0.1}
    suite = gate_suite(mock, "same", thresholds=HEALTHY, non_inferiority=margins)
    run = await validate(tmp_path, suite)
    assert run.code == 0, run.process.stdout + run.process.stderr
    assert run.report is not None
    assert run.report["passed"] is True
    names = [c["name"] for c in run.report["checks"]]
    assert names == [*HEALTHY, *(f"non_inferiority.{m}" for m in margins), "budget"]
    assert all(c["passed"] for c in run.report["checks"])
    assert "PASSED: 11 checks" in run.process.stdout
    assert mock.requests == 80
    latency = run.check("non_inferiority.latency")["values"]
    assert latency["ci"][0] <= latency["lift"] <= latency["ci"][1]
    assert latency["p_value"] < 0.05
    # Not a terminal: no progress bar.
    assert "calls" not in run.process.stderr


async def test_five_percent_errors_fail_a_one_percent_threshold(tmp_path: Path, mock: Mock) -> None:
    """A candidate failing ~5% of calls against ``min_success_ratio: 0.99`` exits 1, named."""
    suite = gate_suite(mock, "flaky", thresholds={"min_success_ratio": 0.99})
    suite["validation"]["repetitions"] = 100
    suite["validation"]["max_calls"] = 400
    run = await validate(tmp_path, suite)
    assert run.code == 1
    check = run.check("min_success_ratio")
    assert check["passed"] is False
    assert 0.9 <= check["values"]["observed"] < 0.99
    assert check["values"]["limit"] == 0.99
    assert check["message"].startswith("min_success_ratio: observed 0.9")
    assert "limit >= 0.99" in check["message"]
    assert "FAILED: 1 of 2 checks" in run.process.stdout
    assert "min_success_ratio" in run.process.stdout.split("FAILED:")[1]
    assert run.report is not None
    assert run.report["arms"]["candidate[smoke]"]["errors"]["server_error"] >= 2


async def test_thirty_percent_slower_fails_a_ten_percent_margin(tmp_path: Path, mock: Mock) -> None:
    """A candidate 30% slower than its baseline is not within a 10% latency margin: exit 1."""
    suite = gate_suite(mock, "slow", non_inferiority={"latency": 0.1, "success_ratio": 0.01})
    run = await validate(tmp_path, suite)
    assert run.code == 1
    latency = run.check("non_inferiority.latency")
    assert latency["passed"] is False
    values = latency["values"]
    assert 0.15 < values["lift"] < 0.45
    assert values["ci"][0] > 0.1
    assert values["p_value"] > 0.5
    assert values["baseline"] == "current[smoke]"
    assert "against current[smoke]; not shown within the margin" in latency["message"]
    assert run.check("non_inferiority.success_ratio")["passed"] is True
    assert "non_inferiority.latency" in run.process.stdout


async def test_failed_expect_checks_lower_the_pass_rate(tmp_path: Path, mock: Mock) -> None:
    """The pass rate counts every ``expect`` check: a reply without the text is a failure."""
    suite = gate_suite(mock, "same", thresholds={"min_success_ratio": 0.5})
    suite["targets"][1]["expect"] = {"contains": "no such words"}
    suite["validation"]["gates"][0].pop("baseline")
    run = await validate(tmp_path, suite)
    assert run.code == 1
    assert run.check("min_success_ratio")["values"]["observed"] == 0.0
    assert run.report is not None
    assert run.report["arms"]["candidate[smoke]"]["errors"] == {"validation_failed": 40}


async def test_thresholds_without_a_measurement_fail_and_say_why(
    tmp_path: Path, mock: Mock
) -> None:
    """A TTFT threshold on a target that does not stream cannot hold: it fails, saying so."""
    suite = gate_suite(mock, "same", thresholds={"max_time_to_first_token_p95": "1s"})
    suite["targets"][1]["stream"] = False
    suite["validation"]["gates"][0].pop("baseline")
    run = await validate(tmp_path, suite)
    assert run.code == 1
    message = run.check("max_time_to_first_token_p95")["message"]
    assert "does the target stream?" in message


async def test_target_flag_runs_only_its_gates(tmp_path: Path, mock: Mock) -> None:
    """``--target`` picks gates; the calls made are only those the picked gates need."""
    suite = gate_suite(mock, "same", thresholds={"min_success_ratio": 0.5})
    suite["validation"]["gates"].append(
        {"target": "current", "thresholds": {"max_latency_p95": "3s"}}
    )
    run = await validate(tmp_path, suite, "--target", "current")
    assert run.code == 0, run.process.stderr
    assert run.report is not None
    assert [c["target"] for c in run.report["checks"]] == ["current", "budget"]
    assert mock.requests == 20


async def test_progress_bar_only_on_a_terminal(tmp_path: Path, mock: Mock) -> None:
    """With standard error a terminal, a bar counts the calls; stdout keeps only the table."""
    suite = gate_suite(mock, "same", thresholds={"min_success_ratio": 0.5})
    suite["validation"]["repetitions"] = 5
    path = tmp_path / "suite.yml"
    path.write_text(yaml.safe_dump(suite))
    leader, follower = pty.openpty()
    try:
        process = await asyncio.to_thread(
            subprocess.run,
            aiwatch_argv("validate", str(path)),
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=90,
            check=False,
        )
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all is read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert process.returncode == 0
    assert "[##############################] 20/20 calls" in seen.decode()
    assert "calls" not in process.stdout.split("TARGET")[0]
    assert process.stdout.startswith("TARGET")
