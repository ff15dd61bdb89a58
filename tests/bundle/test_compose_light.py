"""The light stack (docker-compose.aiwatch-grafana.yml): aiwatch and Grafana, no Prometheus.

Without a container engine: the file against the Compose Specification, Grafana's provisioned
data sources pointing at the aiwatch service, the dashboards' data source resolving, and a real
aiwatch answering the HTTP calls Grafana's Prometheus and Alertmanager data sources make.
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

from tests.bundle.grafana import (
    BUILTINS,
    REPO,
    load_dashboards,
    panel_queries,
    panels,
    provisioned_datasource_uids,
    substitute,
    variables,
)
from tests.cli import aiwatch_argv
from tests.daemons import DaemonProcess, LoggedProcess, free_port

LIGHT = REPO / "docker-compose.aiwatch-grafana.yml"
SPEC = Path(__file__).with_name("compose_spec.json")
PROVISIONING = REPO / "grafana/provisioning/aiwatch-only/datasources"


@pytest.fixture(scope="module")
def light() -> dict[str, Any]:
    """The parsed light compose file."""
    document: dict[str, Any] = yaml.safe_load(LIGHT.read_text())
    return document


def _datasources() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(PROVISIONING.glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        assert document["apiVersion"] == 1, path
        found += document["datasources"]
    return found


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> repository source of each bind mount."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            out[target] = source
    return out


def test_light_file_is_valid_against_the_compose_spec(light: dict[str, Any]) -> None:
    """The file validates against the Compose Specification JSON Schema without errors."""
    validator = Draft201909Validator(json.loads(SPEC.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(light)]
    assert errors == []


def test_light_stack_runs_aiwatch_and_grafana_without_prometheus(light: dict[str, Any]) -> None:
    """aiwatch and Grafana, plus the simulated endpoint aiwatch probes and the notification
    printer it notifies; no Prometheus, no Alertmanager. aiwatch runs exactly as in the full
    stack, and every bind mount's source exists."""
    full = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = light["services"]
    assert set(services) == {"aiwatch", "grafana", "mock-ai", "notifications"}
    for name in ("aiwatch", "mock-ai", "notifications"):
        assert services[name] == full["services"][name], name
    assert services["grafana"]["image"] == full["services"]["grafana"]["image"]
    assert services["grafana"]["depends_on"] == ["aiwatch"]
    for service in services.values():
        for source in _mounts(service).values():
            assert (REPO / source).exists(), source
    named = {v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert {n for n in named if not n.startswith(".")} == set(light["volumes"])


def test_grafana_is_provisioned_with_aiwatch_as_both_data_sources(light: dict[str, Any]) -> None:
    """Grafana mounts the aiwatch-only data sources and the dashboards' provisioning; its
    Prometheus and its Alertmanager (Prometheus implementation) data sources both point at
    the aiwatch service on the port aiwatch listens on and compose publishes."""
    grafana = _mounts(light["services"]["grafana"])
    assert grafana["/etc/grafana/provisioning/datasources"] == (
        "./" + str(PROVISIONING.relative_to(REPO))
    )
    assert grafana["/etc/grafana/provisioning/dashboards"] == "./grafana/provisioning/dashboards"
    assert grafana["/etc/grafana/dashboards"] == "./grafana/dashboards"
    aiwatch = light["services"]["aiwatch"]
    (listen,) = [a for a in aiwatch["command"] if a.startswith("--web.listen-address=")]
    port = listen.rpartition(":")[2]
    assert f"{port}:{port}" in aiwatch["ports"]
    by_type = {source["type"]: source for source in _datasources()}
    assert set(by_type) == {"prometheus", "alertmanager"}
    for source in by_type.values():
        assert source["url"] == f"http://aiwatch:{port}"
        assert source["access"] == "proxy"
    assert by_type["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert by_type["prometheus"]["isDefault"] is True
    assert len({source["uid"] for source in by_type.values()}) == 2


def test_dashboards_resolve_their_data_source_in_both_stacks() -> None:
    """The dashboards' ``datasource`` variable defaults to a uid that both stacks provision as
    a Prometheus data source, and every panel and query variable reads through the variable."""
    light_uids = {s["uid"] for s in _datasources() if s["type"] == "prometheus"}
    full_uids = provisioned_datasource_uids()
    for name, dashboard in load_dashboards().items():
        (variable,) = [v for v in variables(dashboard) if v["type"] == "datasource"]
        assert variable["query"] == "prometheus", name
        default = variable["current"]["value"]
        assert default in light_uids, name
        assert default in full_uids, name
        for panel in panels(dashboard):
            if panel["type"] not in ("row", "text"):
                assert panel["datasource"]["uid"] == "${datasource}", (name, panel["id"])
        for query_variable in variables(dashboard):
            if query_variable["type"] == "query":
                assert query_variable["datasource"]["uid"] == "${datasource}", name


CONFIG = """\
global:
  probe_interval: 200ms
  evaluation_interval: 1s
rule_files: [{recording}]
targets:
  - {{name: chat-primary, kind: openai_chat, url: '{mock}/v1', model: mock-gpt, feature: captions,
      stream: true, timeout: 2s}}
"""


def call(url: str, form: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET ``url``, or POST ``form`` form-encoded as Grafana does: status and JSON body."""
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def aiwatch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """aiwatch on a free port probing mock-ai, with the bundled recording rules, one alert
    received on its Alertmanager API and one silence."""
    tmp: Path = tmp_path_factory.mktemp("light")
    port = free_port()
    mock = LoggedProcess(
        aiwatch_argv("mock-ai", "--listen-address", f"127.0.0.1:{port}"), tmp / "mock.log"
    )
    recording = REPO / "prometheus/recording.yml"
    (tmp / "aiwatch.yml").write_text(
        CONFIG.format(mock=f"http://127.0.0.1:{port}", recording=recording)
    )
    daemon = DaemonProcess(tmp / "aiwatch.yml", tmp / "data")
    try:
        daemon.wait_ready()
        alert = [{"labels": {"alertname": "AIEndpointDown", "severity": "critical"}}]
        assert daemon.post("/api/v2/alerts", json.dumps(alert).encode())[0] == 200
        silence = {
            "matchers": [{"name": "severity", "value": "info", "isRegex": False}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "test",
            "comment": "quiet",
        }
        request = urllib.request.Request(
            daemon.url + "/api/v2/silences",
            data=json.dumps(silence).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 60
        query = {"query": "count(target:aiwatch_probe_success:ratio_rate5m)"}
        while time.monotonic() < deadline:
            status, body = call(daemon.url + "/api/v1/query", query)
            if status == 200 and body["data"]["result"]:
                break
            time.sleep(0.5)
        else:
            pytest.fail("no recorded series after 60 s:\n" + daemon.log())
        yield daemon.url
    finally:
        daemon.kill()
        mock.kill()


def test_prometheus_data_source_save_and_test_calls_answer(aiwatch: str) -> None:
    """What "save & test" and the query editor of Grafana's Prometheus data source ask
    (method POST): ``1+1`` as an instant query, build info (to detect the server's type and
    version), label names and metric names."""
    now = time.time()
    window = {"start": f"{now - 3600:.3f}", "end": f"{now:.3f}"}
    status, body = call(aiwatch + "/api/v1/query", {"query": "1+1", "time": f"{now:.3f}"})
    assert status == 200, body
    assert body["data"]["resultType"] == "scalar"
    assert body["data"]["result"][1] == "2"
    status, body = call(aiwatch + "/api/v1/status/buildinfo")
    assert status == 200, body
    assert body["data"]["version"]
    for labels in (
        call(aiwatch + "/api/v1/labels", window),
        call(aiwatch + "/api/v1/labels?" + urllib.parse.urlencode(window)),
    ):
        assert labels[0] == 200, labels
        assert {"__name__", "target", "feature"} <= set(labels[1]["data"])
    status, body = call(aiwatch + "/api/v1/label/__name__/values?" + urllib.parse.urlencode(window))
    assert status == 200, body
    assert {"aiwatch_probe_success", "target:aiwatch_probe_success:ratio_rate5m"} <= set(
        body["data"]
    )
    status, body = call(aiwatch + "/api/v1/metadata")
    assert status == 200, body
    assert body["data"]["aiwatch_probe_success"][0]["type"] == "gauge"


def test_prometheus_data_source_panel_queries_answer(aiwatch: str) -> None:
    """The dashboards' panels as Grafana sends them: POSTed range queries over the last
    minutes at a step, and a POSTed series lookup; recorded series included."""
    now = time.time()
    form = {"start": f"{now - 300:.3f}", "end": f"{now:.3f}", "step": "15"}
    values = {**BUILTINS, "feature": "captions", "target": "chat-primary"}
    (dashboard,) = [d for n, d in load_dashboards().items() if n == "ai-endpoints.json"]
    queries = [q for q in panel_queries("ai-endpoints.json", dashboard) if "success" in q.expr]
    assert queries
    for query in queries:
        expr = substitute(query.expr, values)
        status, body = call(aiwatch + "/api/v1/query_range", {**form, "query": expr})
        assert status == 200, (expr, body)
        assert body["data"]["resultType"] == "matrix"
        assert body["data"]["result"], expr
    series = {"match[]": "aiwatch_probe_success", "start": form["start"], "end": form["end"]}
    status, body = call(aiwatch + "/api/v1/series", series)
    assert status == 200, body
    assert body["data"][0]["target"] == "chat-primary"


def test_alertmanager_data_source_calls_answer(aiwatch: str) -> None:
    """What Grafana's Alertmanager data source (Prometheus implementation) asks: its health
    check reads ``/api/v2/status`` (and takes a 200 on ``/alertmanager/api/v2/status`` for a
    Mimir server, so that must not answer), its alert views ``/api/v2/alerts/groups`` (also
    filtered) and ``/api/v2/silences``."""
    status, _ = call(aiwatch + "/alertmanager/api/v2/status")
    assert status != 200
    status, body = call(aiwatch + "/api/v2/status")
    assert status == 200, body
    assert {"cluster", "config", "uptime", "versionInfo"} <= set(body)
    assert body["cluster"]["status"]
    status, body = call(aiwatch + "/api/v2/alerts/groups")
    assert status == 200, body
    names = [a["labels"]["alertname"] for group in body for a in group["alerts"]]
    assert "AIEndpointDown" in names
    filtered = urllib.parse.urlencode(
        {"filter": 'severity="critical"', "silenced": "false", "inhibited": "false"}
    )
    status, body = call(aiwatch + "/api/v2/alerts/groups?" + filtered)
    assert status == 200, body
    assert [a["labels"]["alertname"] for group in body for a in group["alerts"]] == [
        "AIEndpointDown"
    ]
    status, body = call(aiwatch + "/api/v2/silences")
    assert status == 200, body
    assert [s["comment"] for s in body] == ["quiet"]
    assert body[0]["status"]["state"] == "active"
