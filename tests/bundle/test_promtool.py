"""The bundled Prometheus, Alertmanager and rule files, judged by promtool, amtool and aiwatch."""

import io
import shutil
import subprocess
import sys

import pytest
import yaml

from aiwatch.rules.files import check_rules
from tests.bundle.grafana import REPO

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
RULE_FILES = ["prometheus/recording.yml", "prometheus/alerts.yml"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    """`promtool check config` passes, and finds both rule files."""
    result = _run("promtool", "check", "config", "prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_promtool_accepts_the_rule_files() -> None:
    """`promtool check rules` passes on every rule file of prometheus/."""
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "prometheus").glob("*.yml"))
    files.remove("prometheus/prometheus.yml")
    assert files == sorted(RULE_FILES)
    result = _run("promtool", "check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")
def test_amtool_accepts_the_alertmanager_config() -> None:
    """`amtool check-config` passes on alertmanager/alertmanager.yml."""
    result = _run("amtool", "check-config", "alertmanager/alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_aiwatch_accepts_the_same_rule_files() -> None:
    """aiwatch's own rule loader (which rejects PromQL it cannot evaluate) accepts both files."""
    out, err = io.StringIO(), io.StringIO()
    status = check_rules([str(REPO / f) for f in RULE_FILES], out=out, err=err)
    assert status == 0, out.getvalue() + err.getvalue()
    assert out.getvalue().count("SUCCESS") == 2


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def test_alert_unit_tests_pass_in_promtool_and_in_aiwatch() -> None:
    """The unit tests of alerts.yml (timing, labels and rendered annotations of each alert)
    pass under `promtool test rules` and, with the same file, under `aiwatch test rules`."""
    test_file = "tests/bundle/alerts_test.yml"
    promtool = _run("promtool", "test", "rules", test_file)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    ours = _run(sys.executable, "-m", "aiwatch", "test", "rules", test_file)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert "SUCCESS" in promtool.stdout
    assert "SUCCESS" in ours.stdout


def _rules() -> list[dict[str, object]]:
    document = yaml.safe_load((REPO / "prometheus/alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    """Each alert carries a severity label and summary, description and runbook annotations."""
    rules = _rules()
    assert all("alert" in r for r in rules)
    for rule in rules:
        labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
        assert isinstance(labels, dict)
        assert isinstance(annotations, dict)
        assert labels.get("severity") in ("critical", "warning", "info"), rule["alert"]
        for key in ("summary", "description", "runbook"):
            assert annotations.get(key), f"{rule['alert']}: no {key}"


def test_the_default_alert_set_covers_endpoints_and_aiwatch_itself() -> None:
    """Down, error ratio, latency, TTFT, rate limits, cost, model change, staleness, rule
    failures and the notification backlog each have an alert on the metric that shows them."""
    exprs = {str(r["alert"]): str(r["expr"]) for r in _rules()}
    wanted = {
        "AIEndpointDown": "aiwatch_probe_success",
        "AIEndpointErrorRatioHigh": "aiwatch_probes_total",
        "AIEndpointLatencyHigh": "aiwatch_probe_duration_seconds_bucket",
        "AIEndpointTimeToFirstTokenHigh": "aiwatch_probe_time_to_first_token_seconds_bucket",
        "AIEndpointRateLimitHeadroomLow": "aiwatch_ratelimit_remaining",
        "AIEndpointCostBurnHigh": "aiwatch_probe_cost_usd_total",
        "AIEndpointModelChanged": "aiwatch_target_info",
        "AIProbesStale": "aiwatch_probe_last_run_timestamp_seconds",
        "AIWatchRuleEvaluationFailures": "aiwatch_rule_evaluation_failures_total",
        "AIWatchNotificationBacklog": "aiwatch_notification_queue_length",
    }
    for alert, metric in wanted.items():
        assert metric in exprs.get(alert, ""), alert


def test_recording_rules_follow_level_metric_operations_naming() -> None:
    """Every recorded name has the level:metric:operations shape over an aiwatch metric."""
    document = yaml.safe_load((REPO / "prometheus/recording.yml").read_text())
    names = [r["record"] for g in document["groups"] for r in g["rules"]]
    assert names
    for name in names:
        level, metric, operations = name.split(":")
        assert level, name
        assert operations, name
        assert metric.startswith("aiwatch_"), name
