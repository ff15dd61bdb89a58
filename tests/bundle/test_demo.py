"""``aiwatch demo``: a short run tells the whole story on the console, and stops by itself."""

import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from aiwatch.demo import write_demo_files
from tests.bundle.grafana import REPO
from tests.bundle.stack import aiwatch, free_port

EXAMPLES = REPO / "src/aiwatch/examples"


@pytest.fixture(scope="module")
def demo_run() -> tuple[str, float, int]:
    """One short demo: outage after 4 s, stopped by --duration after 24 s."""
    port = free_port()
    started = time.monotonic()
    result = subprocess.run(
        aiwatch(
            "demo", f"--web.listen-address=127.0.0.1:{port}", "--duration=24s", "--degrade-after=4s"
        ),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return result.stdout + result.stderr, time.monotonic() - started, result.returncode


def test_demo_prints_what_to_open_and_stops_by_itself(demo_run: tuple[str, float, int]) -> None:
    """The demo lists the pages, /metrics, the incidents and the experiment, and --duration
    ends it with exit code 0 in about that time."""
    output, elapsed, code = demo_run
    assert code == 0, output
    assert elapsed < 60, output
    for path in ("/metrics", "/api/v1/incidents", "/api/v1/experiments/captions-model-v2"):
        assert re.search(rf"http://127\.0\.0\.1:\d+{re.escape(path)}", output), path
    assert re.search(r"pages +http://127\.0\.0\.1:\d+/\n", output), output
    assert "demo stopped" in output


def test_demo_scripts_an_outage_that_fires_an_alert(demo_run: tuple[str, float, int]) -> None:
    """The scripted outage makes the AIEndpointDown alert of chat-primary fire."""
    output, _, _ = demo_run
    assert "model mock-gpt (target chat-primary) answers HTTP 500" in output
    assert 'alert AIEndpointDown{target="chat-primary"} is firing' in output, output


def test_demo_opens_an_incident_and_prints_its_notification(
    demo_run: tuple[str, float, int],
) -> None:
    """The firing alert opens an incident and the console route prints its notification."""
    output, _, _ = demo_run
    assert re.search(r"incident #\d+ AIEndpointDown is firing", output), output
    assert "NOTIFICATION" in output, output
    assert "chat-primary" in output.split("NOTIFICATION", 1)[1], output


def test_demo_rules_are_the_bundled_alerts_with_shorter_waits() -> None:
    """Each demo alert is the bundled alert of the same name: same labels, annotations'
    keys and expression, except shorter windows and `for`."""
    bundled = {
        r["alert"]: r
        for g in yaml.safe_load((REPO / "prometheus/alerts.yml").read_text())["groups"]
        for r in g["rules"]
    }
    demo = [
        r
        for g in yaml.safe_load((EXAMPLES / "demo-rules.yml").read_text())["groups"]
        for r in g["rules"]
    ]
    assert {r["alert"] for r in demo} >= {"AIEndpointDown", "AIEndpointModelChanged"}
    for rule in demo:
        original = bundled[rule["alert"]]
        assert rule["labels"] == original["labels"]
        assert rule["annotations"].keys() == original["annotations"].keys()
        assert _normalise(rule["expr"]) == _normalise(original["expr"]), rule["alert"]


def _normalise(expr: str) -> str:
    """An expression with its range windows blanked and its whitespace collapsed."""
    return " ".join(re.sub(r"\[\d+[smhd]\]", "[W]", expr).split())


def test_demo_config_links_notifications_to_the_demo_daemon(tmp_path: Path) -> None:
    """The demo config's external_url is the daemon's own address, so the notifications it
    prints carry a working incident link instead of a bare relative path."""
    config = write_demo_files(
        tmp_path,
        mock_url="http://127.0.0.1:1",
        receiver_url="json://127.0.0.1:2/notify",
        external_url="http://127.0.0.1:19531",
    )
    document = yaml.safe_load(config.read_text())
    assert document["global"]["external_url"] == "http://127.0.0.1:19531"


def test_demo_experiment_can_reach_a_verdict_before_the_outage() -> None:
    """min_samples is reachable by the control's passing probes before the scripted outage
    (30 s at one probe per interval), so a two-minute demo shows a verdict, not only
    'not enough samples'."""
    document = yaml.safe_load((EXAMPLES / "demo.yml").read_text())
    interval = float(document["global"]["probe_interval"].rstrip("s"))
    (experiment,) = document["experiments"]
    assert experiment["min_samples"] <= 30 / interval
