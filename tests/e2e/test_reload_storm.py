"""Fifty reloads in a row while an alert flaps: no incident is left open afterwards."""

import time
from pathlib import Path

from tests.e2e.conftest import Stack, http, wait_for
from tests.e2e.receiver import Receiver, receiver
from tests.e2e.test_restarts import incidents

__all__ = ["receiver"]

RULES = """\
groups:
  - name: endpoints
    interval: 200ms
    rules:
      - alert: EndpointDown
        expr: aiwatch_probe_success{{target="chat"}} == 0
        annotations: {{reload: "{n}"}}
  - name: unchanged
    interval: 200ms
    rules:
      - record: probes:up
        expr: max(aiwatch_probe_success)
"""


def test_fifty_reloads_while_an_alert_flaps_leave_every_incident_resolved(
    stack: Stack, tmp_path: Path, receiver: Receiver
) -> None:
    """Each reload changes the group of the flapping alert (one annotation); after 50 of
    them and the endpoint's recovery, every incident is resolved and each got its firing
    and its resolved message, once."""
    mock = stack.mock_ai()
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES.format(n=0))
    config = tmp_path / "aiwatch.yml"
    config.write_text(f"""\
global:
  evaluation_interval: 200ms
rule_files: [rules.yml]
targets:
  - name: chat
    kind: openai_chat
    url: {mock}/v1
    model: mock-gpt
    interval: 100ms
    timeout: 1s
notifications:
  routes:
    - name: oncall
      apprise: ["{receiver.url()}"]
      events: [firing, resolved]
""")
    url, proc = stack.daemon(config)
    failing = False
    for n in range(1, 51):
        if n % 4 == 1:
            failing = not failing
            if failing:
                http("POST", mock + "/_mock/behavior", {"fault": "server_error"})
            else:
                http("DELETE", mock + "/_mock/behavior")
        rules.write_text(RULES.format(n=n))
        status, body = http("POST", url + "/-/reload")
        assert status == 200, body
        time.sleep(0.15)
    http("DELETE", mock + "/_mock/behavior")

    def settled() -> bool:
        found = incidents(url)
        return bool(found) and all(i["state"] == "resolved" for i in found)

    wait_for(settled, timeout=30, what="every incident to resolve", log=proc.log)
    # The last flap's failing samples can still open one more incident after the others have
    # resolved (the endpoint failed for only ~0.3 s): let it open and resolve before counting.
    time.sleep(1)
    wait_for(settled, timeout=30, what="every incident to resolve", log=proc.log)
    found = incidents(url)
    assert len(found) >= 3, "the alert should have flapped several times"
    assert all(i["resolved_by"] == "rule" for i in found)
    wait_for(
        lambda: len(receiver.titles()) >= 2 * len(found),
        timeout=30,
        what="a firing and a resolved message per incident",
        log=proc.log,
    )
    time.sleep(1)
    assert len(receiver.titles()) == 2 * len(incidents(url)), receiver.titles()
    _, alerts = http("GET", url + "/api/v1/alerts")
    assert alerts["data"]["alerts"] == []
