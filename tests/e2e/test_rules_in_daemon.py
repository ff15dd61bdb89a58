"""Alert rules evaluated by a running daemon over its own probe samples."""

from pathlib import Path

from tests.e2e.conftest import Stack, http, wait_for

RULES = """\
groups:
  - name: endpoints
    interval: 500ms
    rules:
      - alert: EndpointDown
        expr: aiwatch_probe_success{target="chat"} == 0
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.target }} is down"
          description: "success is {{ $value }} on {{ $labels.instance }}"
"""


def config(tmp_path: Path, mock: str) -> Path:
    (tmp_path / "rules.yml").write_text(RULES)
    path = tmp_path / "aiwatch.yml"
    path.write_text(f"""\
global:
  evaluation_interval: 500ms
rule_files: [rules.yml]
targets:
  - name: chat
    kind: openai_chat
    url: {mock}/v1
    model: mock-gpt
    interval: 200ms
    timeout: 2s
""")
    return path


def firing(url: str) -> list[dict[str, object]]:
    _, body = http("GET", url + "/api/v1/alerts")
    return [a for a in body["data"]["alerts"] if a["state"] == "firing"]


def test_alert_fires_and_resolves_with_the_endpoint(stack: Stack, tmp_path: Path) -> None:
    """A failing mock endpoint fires EndpointDown with rendered annotations; recovery resolves."""
    mock = stack.mock_ai()
    url, proc = stack.daemon(config(tmp_path, mock))
    wait_for(
        lambda: b"aiwatch_probe_success" in http("GET", url + "/metrics")[1].encode(),
        timeout=10,
        what="a first probe",
        log=proc.log,
    )
    assert firing(url) == []

    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})
    (alert,) = wait_for(lambda: firing(url), timeout=15, what="EndpointDown to fire", log=proc.log)
    assert alert["labels"]["alertname"] == "EndpointDown"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["job"] == "aiwatch"
    assert alert["annotations"]["summary"] == "chat is down"
    assert alert["annotations"]["description"].startswith("success is 0 on 127.0.0.1:")
    _, metrics = http("GET", url + "/metrics")
    assert 'aiwatch_alerts{alertname="EndpointDown",alertstate="firing"' in metrics

    http("DELETE", mock + "/_mock/behavior")
    wait_for(lambda: not firing(url), timeout=15, what="EndpointDown to resolve", log=proc.log)
    _, rules = http("GET", url + "/api/v1/rules")
    (group,) = rules["data"]["groups"]
    assert group["rules"][0]["name"] == "EndpointDown"
    assert group["rules"][0]["health"] == "ok"


def test_firing_alert_survives_a_restart(stack: Stack, tmp_path: Path) -> None:
    """A firing alert is firing again right after the daemon restarts, not pending anew."""
    mock = stack.mock_ai()
    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})
    rules = RULES.replace("== 0\n", "== 0\n        for: 2s\n")
    (tmp_path / "rules.yml").write_text(rules)
    path = config(tmp_path, mock)
    (tmp_path / "rules.yml").write_text(rules)
    url, proc = stack.daemon(path)
    (alert,) = wait_for(lambda: firing(url), timeout=20, what="EndpointDown to fire", log=proc.log)
    active_at = alert["activeAt"]
    assert proc.stop() == 0

    url, proc = stack.daemon(path)
    _, body = http("GET", url + "/api/v1/alerts")
    states = [(a["labels"]["alertname"], a["state"], a["activeAt"]) for a in body["data"]["alerts"]]
    assert states == [("EndpointDown", "firing", active_at)], proc.log()


def test_alert_opens_incident_that_is_acked_and_resolved_by_the_rule(
    stack: Stack, tmp_path: Path
) -> None:
    """Rule → incident: firing opens it, a person acknowledges it, recovery resolves it."""
    mock = stack.mock_ai()
    url, proc = stack.daemon(config(tmp_path, mock))
    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})

    def incidents() -> list[dict[str, object]]:
        return http("GET", url + "/api/v1/incidents")[1]["data"]

    (incident,) = wait_for(incidents, timeout=15, what="an incident", log=proc.log)
    assert incident["alertname"] == "EndpointDown"
    assert incident["severity"] == "critical"
    assert incident["state"] == "firing"
    status, acked = http(
        "POST",
        f"{url}/api/v1/incidents/{incident['id']}/acknowledge",
        {"by": "alice", "comment": "looking"},
    )
    assert status == 200, acked
    assert acked["data"]["state"] == "acknowledged"

    http("DELETE", mock + "/_mock/behavior")
    wait_for(
        lambda: incidents()[0]["state"] == "resolved",
        timeout=15,
        what="the incident to resolve",
        log=proc.log,
    )
    _, detail = http("GET", f"{url}/api/v1/incidents/{incident['id']}")
    assert detail["data"]["resolved_by"] == "rule"
    assert [e["event"] for e in detail["data"]["timeline"]][:3] == [
        "fired",
        "acknowledged",
        "resolved",
    ]
