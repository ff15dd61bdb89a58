"""Messages: default content, custom Go templates, and the Apprise notify type per event."""

from aiwatch.config.model import Templates
from aiwatch.notify.facts import Facts, from_any
from aiwatch.notify.messages import check, render

FACTS = Facts(
    id=12,
    alertname="EndpointDown",
    labels={"alertname": "EndpointDown", "severity": "critical", "target": "captions"},
    started_at=1000.0,
    severity="critical",
    annotations={"summary": "captions is down", "description": "no answer for 5m"},
    value=0.0,
    generator_url="http://prom:9090/graph?g0.expr=up",
)


def test_default_firing_message_has_everything_on_call_needs() -> None:
    """Alert name, severity, annotations, value, labels, duration and both links."""
    msg = render(FACTS, kind="firing", route="r", now=1130.0, external_url="http://aw:9531/")
    assert msg.title == "[FIRING] EndpointDown (critical) #12"
    assert msg.notify_type == "failure"
    for part in (
        "captions is down",
        "no answer for 5m",
        "Fired with value: 0",
        "Firing for: 2m 10s",
        'target="captions"',
        "Page: http://aw:9531/incidents/12",
        "Incident: http://aw:9531/api/v1/incidents/12",
        "Source: http://prom:9090/graph?g0.expr=up",
    ):
        assert part in msg.body


def test_notify_type_follows_the_event() -> None:
    """failure for firing, success for resolved, info for acks, warning otherwise."""
    types = {
        kind: render(FACTS, kind=kind, route="r", now=1000.0).notify_type
        for kind in ("firing", "repeat", "resolved", "acknowledged", "silenced", "escalation")
    }
    assert types == {
        "firing": "failure",
        "repeat": "failure",
        "resolved": "success",
        "acknowledged": "info",
        "silenced": "warning",
        "escalation": "warning",
    }


def test_resolved_message_says_how_long_and_by_whom() -> None:
    """A resolved message counts the duration up to the resolution, not up to now."""
    facts = from_any(
        {**FACTS.to_json(), "state": "resolved", "resolved_at": 1060.0, "resolved_by": "bob"}
    )
    msg = render(facts, kind="resolved", route="r", now=5000.0)
    assert msg.title.startswith("[RESOLVED]")
    assert "Resolved after: 1m 0s by bob" in msg.body
    assert "Incident:" not in msg.body  # no external_url, no link
    assert "Page:" not in msg.body


def test_reminder_title_is_numbered() -> None:
    """A reminder says which one it is."""
    msg = render(FACTS, kind="repeat", route="r", now=2200.0, seq=2)
    assert msg.title == "[FIRING] EndpointDown (critical) #12 reminder 2"


def test_route_template_wins_over_global_and_uses_annotation_language() -> None:
    """Templates use $labels, $value and the humanize functions of rule annotations."""
    route = Templates(title="{{ .Status }}: {{ $labels.target }} at {{ humanize $value }}")
    glob = Templates(title="ignored", body="{{ .Route }} {{ $annotations.summary }}")
    facts = from_any({**FACTS.to_json(), "value": 1234.5})
    msg = render(facts, kind="acknowledged", route="oncall", now=1000.0, templates=(route, glob))
    assert msg.title == "ACKNOWLEDGED: captions at 1.234k"
    assert msg.body == "oncall captions is down"


def test_broken_template_is_reported_in_the_text_not_raised() -> None:
    """A template that fails to execute still yields a message naming the error."""
    msg = render(
        FACTS, kind="firing", route="r", now=0.0, templates=(Templates(title="{{ .Nope }}"),)
    )
    assert msg.title.startswith("<error expanding template:")
    assert check("{{ .Nope }}") is None
    assert check("{{ if }}") is not None


def test_from_any_reads_the_api_shape() -> None:
    """ISO-8601 times and the API's field names become Facts."""
    facts = from_any(
        {
            "id": 3,
            "state": "acknowledged",
            "alertname": "X",
            "severity": "warning",
            "labels": {"alertname": "X"},
            "annotations": {},
            "value": 2,
            "started_at": "1970-01-01T00:16:40Z",
            "acknowledged_at": "1970-01-01T00:17:00Z",
            "acknowledged_by": "alice",
        }
    )
    assert (facts.started_at, facts.acknowledged_at, facts.value) == (1000.0, 1020.0, 2.0)
    assert not facts.silenced


def test_a_relative_source_link_is_left_out_of_the_default_body() -> None:
    """Without global.external_url the rule's generatorURL is a bare path (/graph?…) that
    no chat client or mail reader can open; like the incident link, the line is omitted."""
    facts = from_any({**FACTS.to_json(), "generator_url": "/graph?g0.expr=up&g0.tab=1"})
    msg = render(facts, kind="firing", route="r", now=1000.0)
    assert "Source:" not in msg.body
    assert "/graph" not in msg.body


def test_value_is_shown_in_the_unit_its_summary_uses() -> None:
    """A summary that renders the value with humanizePercentage (``28.57%``) makes the value
    line say ``28.57%`` too, not ``285.7m``; a value its annotations do not show is
    humanized."""
    facts = Facts(
        id=3,
        alertname="ErrorRatioHigh",
        labels={"alertname": "ErrorRatioHigh"},
        started_at=1000.0,
        annotations={"summary": "chat fails 28.57% of probes"},
        value=0.2857142857,
    )
    msg = render(facts, kind="firing", route="r", now=1192.0)
    assert "Fired with value: 28.57%" in msg.body
    assert "285.7m" not in msg.body
    plain = render(Facts(**{**facts.__dict__, "annotations": {}}), kind="firing", route="r", now=0)
    assert "Fired with value: 285.7m" in plain.body


def test_durations_are_whole_seconds() -> None:
    """Firing for 3 ms is 'less than 1s', and 192.4 s is '3m 12s' (no milliseconds)."""
    assert "Firing for: less than 1s" in render(FACTS, kind="firing", route="r", now=1000.004).body
    assert "Firing for: 3m 12s" in render(FACTS, kind="firing", route="r", now=1192.4).body


def test_resolved_message_says_the_summary_was_while_firing_and_the_condition_ended() -> None:
    """A RESOLVED message does not quote the firing summary as if it were current: it is
    marked 'While firing', the value is the one it fired with, and a rule's resolution
    says the condition no longer holds."""
    facts = from_any(
        {
            **FACTS.to_json(),
            "annotations": {"summary": "chat fails 6.897% of probes"},
            "value": 0.06896551724,
            "state": "resolved",
            "resolved_at": 1060.0,
            "resolved_by": "rule",
        }
    )
    body = render(facts, kind="resolved", route="r", now=5000.0).body
    assert body.startswith("While firing: chat fails 6.897% of probes")
    assert "Value when it fired: 6.897%" in body
    later = from_any({**facts.to_json(), "value": 0.4229})
    # The summary was rendered with a later value: its percentage still gives the unit.
    assert "Value when it fired: 42.29%" in render(later, kind="resolved", route="r", now=0).body
    assert "Now: the alert's condition no longer holds" in body
    assert "Resolved after: 1m 0s by rule" in body


def test_pushed_alert_without_a_value_says_nothing_about_a_value() -> None:
    """An incident from POST /api/v2/alerts has a null value: no 'value' line at all
    (it used to say 'Fired with value: 0')."""
    facts = from_any({**FACTS.to_json(), "value": None})
    for kind in ("firing", "resolved"):
        body = render(facts, kind=kind, route="r", now=1130.0).body
        assert "value" not in body.lower().replace("labels", ""), body
