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
    port = int(url.rsplit(":", 1)[1])
    (alert,) = wait_for(lambda: firing(url), timeout=20, what="EndpointDown to fire", log=proc.log)
    active_at = alert["activeAt"]
    assert proc.stop() == 0

    # The same listen address: it is the self-scrape's ``instance``, so a new one would be a
    # new alert (docs/rules.md#restarts) as soon as the first evaluation runs.
    url, proc = stack.daemon(path, port=port)

    def states() -> list[tuple[object, ...]]:
        _, body = http("GET", url + "/api/v1/alerts")
        alerts = body["data"]["alerts"]
        return [(a["labels"]["alertname"], a["state"], a["activeAt"]) for a in alerts]

    assert states() == [("EndpointDown", "firing", active_at)], proc.log()
    # Still the same alert once the rules have evaluated fresh samples.
    _, body = http("GET", url + "/api/v1/rules")
    evaluated = body["data"]["groups"][0]["lastEvaluation"]
    wait_for(
        lambda: (
            http("GET", url + "/api/v1/rules")[1]["data"]["groups"][0]["lastEvaluation"]
            != evaluated
        ),
        timeout=10,
        what="an evaluation after the restart",
        log=proc.log,
    )
    assert states() == [("EndpointDown", "firing", active_at)], proc.log()


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


def test_removing_a_firing_rule_resolves_its_incident(stack: Stack, tmp_path: Path) -> None:
    """A reload that deletes a firing rule resolves its alert and incident, not orphans them."""
    mock = stack.mock_ai()
    path = config(tmp_path, mock)
    url, proc = stack.daemon(path)
    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})

    def incidents() -> list[dict[str, object]]:
        return http("GET", url + "/api/v1/incidents")[1]["data"]

    (incident,) = wait_for(incidents, timeout=15, what="an incident", log=proc.log)
    (tmp_path / "rules.yml").write_text("groups: []\n")
    assert http("POST", url + "/-/reload")[0] == 200
    assert firing(url) == []
    (resolved,) = wait_for(
        lambda: [i for i in incidents() if i["state"] == "resolved"],
        timeout=10,
        what="the incident to resolve",
        log=proc.log,
    )
    assert resolved["id"] == incident["id"]
    assert resolved["resolved_by"] == "rule"


def test_query_api_and_generator_url(stack: Stack, tmp_path: Path) -> None:
    """/api/v1/query answers in Prometheus' shape; an alert's generatorURL leads to it."""
    mock = stack.mock_ai()
    url, proc = stack.daemon(config(tmp_path, mock))
    wait_for(
        lambda: http("GET", url + "/api/v1/query?query=aiwatch_probe_success")[1]["data"]["result"],
        timeout=10,
        what="a probe sample",
        log=proc.log,
    )
    _, body = http("GET", url + "/api/v1/query?query=aiwatch_probe_success&time=1e9")
    assert body == {"status": "success", "data": {"resultType": "vector", "result": []}}
    _, body = http("GET", url + "/api/v1/query?query=sum(aiwatch_probe_success)*2")
    (sample,) = body["data"]["result"]
    assert sample["metric"] == {}
    assert sample["value"][1] == "2"
    _, body = http("GET", url + "/api/v1/query?query=1.5e3")
    assert body["data"]["resultType"] == "scalar"
    assert body["data"]["result"][1] == "1500"
    status, body = http("GET", url + "/api/v1/query?query=rate(x[5m]")
    assert status == 400
    assert body["errorType"] == "bad_data"

    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})
    (alert,) = wait_for(lambda: firing(url), timeout=15, what="an alert", log=proc.log)
    status, body = http("GET", url + "/graph?g0.expr=aiwatch_probe_success%3D%3D0&g0.tab=1")
    assert status == 200
    assert body["data"]["result"][0]["metric"]["target"] == "chat"
    _, incidents = http("GET", url + "/api/v1/incidents")
    generator = incidents["data"][0]["generator_url"]
    assert "/graph?g0.expr=" in generator
    assert alert["labels"]["alertname"] == "EndpointDown"
