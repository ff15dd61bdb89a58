"""A restart while an endpoint is down keeps its incident: no resolve, no new page.

The scenario of docs/rules.md#restarts with real processes: ``aiwatch mock-ai`` fails,
``EndpointDown`` (no ``for``) opens incident 1, alice acknowledges it, aiwatch is killed
(SIGKILL) or stopped (SIGTERM) and started again on the same address and storage.
"""

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from tests.daemons import free_port
from tests.e2e.conftest import Stack, http, wait_for
from tests.e2e.receiver import Receiver, receiver

__all__ = ["receiver"]

RULES = """\
groups:
  - name: endpoints
    interval: 500ms
    rules:
      - alert: EndpointDown
        expr: aiwatch_probe_success{target="chat"} == 0
        labels: {severity: critical}
"""


def write_config(tmp_path: Path, mock: str, rec: Receiver) -> Path:
    """Rules, one chat target probed every 200 ms, and a route to ``rec``."""
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
notifications:
  routes:
    - name: oncall
      apprise: ["{rec.url()}"]
      events: [firing, resolved]
""")
    return path


def incidents(url: str) -> list[dict[str, Any]]:
    """Every incident, newest first."""
    body: list[dict[str, Any]] = http("GET", url + "/api/v1/incidents")[1]["data"]
    return body


def timeline(url: str, incident_id: int) -> list[str]:
    """The incident's timeline events, without the notification attempts."""
    _, detail = http("GET", f"{url}/api/v1/incidents/{incident_id}")
    return [e["event"] for e in detail["data"]["timeline"] if e["event"] != "notified"]


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_restart_with_the_endpoint_still_down_keeps_the_acknowledged_incident(
    stack: Stack, tmp_path: Path, receiver: Receiver, how: signal.Signals
) -> None:
    """After a kill or a stop and a restart, 10 s with the endpoint still failing leave
    incident 1 acknowledged, open no second incident and send nothing; recovery then
    resolves incident 1 and sends its one ``resolved`` message."""
    mock = stack.mock_ai()
    config = write_config(tmp_path, mock, receiver)
    port = free_port()
    url, proc = stack.daemon(config, port=port)
    http("POST", mock + "/_mock/behavior", {"fault": "server_error"})
    (first,) = wait_for(lambda: incidents(url), timeout=20, what="incident 1", log=proc.log)
    status, _ = http("POST", f"{url}/api/v1/incidents/{first['id']}/acknowledge", {"by": "alice"})
    assert status == 200
    wait_for(receiver.titles, timeout=20, what="the firing message", log=proc.log)
    sent_before = receiver.titles()

    proc.proc.send_signal(how)
    proc.proc.wait(15)
    url, proc = stack.daemon(config, port=port)
    time.sleep(10)

    after = incidents(url)
    assert [(i["id"], i["state"]) for i in after] == [(first["id"], "acknowledged")], proc.log()
    assert timeline(url, first["id"]) == ["fired", "acknowledged"]
    assert receiver.titles() == sent_before

    http("DELETE", mock + "/_mock/behavior")
    wait_for(
        lambda: incidents(url)[0]["state"] == "resolved",
        timeout=20,
        what="incident 1 to resolve",
        log=proc.log,
    )
    (done,) = incidents(url)
    assert (done["id"], done["resolved_by"]) == (first["id"], "rule")
    assert timeline(url, first["id"]) == ["fired", "acknowledged", "resolved"]
    wait_for(
        lambda: len(receiver.titles()) == len(sent_before) + 1,
        timeout=20,
        what="the resolved message",
        log=proc.log,
    )
    time.sleep(1)
    assert len(receiver.titles()) == len(sent_before) + 1, receiver.titles()
