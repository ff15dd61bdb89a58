"""The incident and silence routes on the daemon's app, over real HTTP."""

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from aiwatch.app.keys import INCIDENT_SINK, INCIDENT_STORE
from aiwatch.incidents.records import Query
from aiwatch.rules.events import AlertEvent

from .conftest import DOWN, Serve, Served, iso


async def _post_alert(served: Served, labels: dict[str, str], **kw: Any) -> None:
    alert = {"labels": labels, "annotations": {"summary": "down"}, **kw}
    status, body = await served.call("POST", "/api/v2/alerts", json=[alert])
    assert status == 200, body


async def test_incident_lifecycle_over_http(serve: Serve) -> None:
    """Ingest opens; acknowledge and resolve record who and when; firing again links a new one."""
    served = await serve()
    await _post_alert(served, DOWN, startsAt=iso(-60))
    status, listing = await served.call("GET", "/api/v1/incidents")
    assert status == 200
    assert [i["state"] for i in listing["data"]] == ["firing"]
    assert "timeline" not in listing["data"][0]
    first = listing["data"][0]["id"]
    status, body = await served.call(
        "POST", f"/api/v1/incidents/{first}/acknowledge", json={"by": "alice", "comment": "looking"}
    )
    assert status == 200
    assert body["data"]["acknowledged_by"] == "alice"
    assert body["data"]["timeline"][-1]["event"] == "acknowledged"
    assert body["data"]["timeline"][-1]["detail"] == "looking"
    await _post_alert(served, DOWN, startsAt=iso(-60), endsAt=iso(-1))
    status, body = await served.call("GET", f"/api/v1/incidents/{first}")
    assert body["data"]["state"] == "resolved"
    assert body["data"]["resolved_by"] == "rule"
    assert body["data"]["resolved_at"].endswith("Z")
    await _post_alert(served, DOWN, startsAt=iso())
    status, listing = await served.call("GET", "/api/v1/incidents?state=firing")
    assert [i["previous_id"] for i in listing["data"]] == [first]


async def test_person_resolve_of_firing_alert_reopens_at_next_evaluation(serve: Serve) -> None:
    """Resolving a still-firing alert by hand: the next evaluation opens a linked incident."""
    served = await serve()
    sink = served.app[INCIDENT_SINK]
    now = time.time()

    def event(at: float) -> AlertEvent:
        return AlertEvent(
            group="g", rule="EndpointDown", state="firing", labels=DOWN,
            annotations={"summary": "down"}, value=0.0, active_at=now - 30, fired_at=now - 20,
            resolved_at=None, generator_url="http://x/graph", fingerprint="f00d",
            evaluated_at=at, changed=False,
        )  # fmt: skip

    await sink.alerts_changed([event(now - 20)])
    status, body = await served.call("POST", "/api/v1/incidents/1/resolve", json={"by": "bob"})
    assert status == 200
    assert body["data"]["resolved_by"] == "bob"
    await sink.alerts_changed([event(time.time() + 1)])
    status, body = await served.call("GET", "/api/v1/incidents/2")
    assert status == 200
    assert body["data"]["state"] == "firing"
    assert body["data"]["previous_id"] == 1
    assert body["data"]["generator_url"] == "http://x/graph"


async def test_pending_alerts_open_nothing(serve: Serve) -> None:
    """A pending alert event from the rules engine does not open an incident."""
    served = await serve()
    pending = AlertEvent(
        group="g", rule="R", state="pending", labels={"alertname": "R"}, annotations={},
        value=1.0, active_at=1.0, fired_at=None, resolved_at=None, generator_url="",
        fingerprint="p1", evaluated_at=2.0,
    )  # fmt: skip
    await served.app[INCIDENT_SINK].alerts_changed([pending])
    assert (await served.call("GET", "/api/v1/incidents"))[1]["data"] == []


async def test_filters_and_paging(serve: Serve) -> None:
    """state, severity, matcher, limit and before select incidents newest first."""
    served = await serve()
    for i, severity in enumerate(["critical", "warning", "critical"]):
        await _post_alert(served, {"alertname": f"A{i}", "severity": severity, "team": f"t{i % 2}"})
    await served.call("POST", "/api/v1/incidents/3/acknowledge", json={"by": "x"})

    async def ids(query: str) -> list[int]:
        status, body = await served.call("GET", "/api/v1/incidents" + query)
        assert status == 200, body
        return [i["id"] for i in body["data"]]

    assert await ids("") == [3, 2, 1]
    assert await ids("?state=acknowledged") == [3]
    assert await ids("?state=firing,acknowledged") == [3, 2, 1]
    assert await ids("?severity=critical") == [3, 1]
    assert await ids('?matcher=team="t0"') == [3, 1]
    assert await ids('?matcher=team="t0"&matcher=alertname=~"A0|A1"') == [1]
    assert await ids("?limit=2") == [3, 2]
    assert await ids("?limit=2&before=2") == [1]


async def test_silence_mutes_but_records(serve: Serve) -> None:
    """A silenced incident is recorded with a silenced event; expiring the silence is a DELETE."""
    served = await serve()
    status, body = await served.call(
        "POST",
        "/api/v1/silences",
        json={"matchers": ['target="captions-primary"'], "endsAt": iso(3600),
              "createdBy": "alice", "comment": "maintenance"},
    )  # fmt: skip
    assert status == 201, body
    silence = body["data"]
    assert silence["status"]["state"] == "active"
    await _post_alert(served, DOWN)
    status, body = await served.call("GET", "/api/v1/incidents/1")
    assert body["data"]["silenced"] is True
    assert [e["event"] for e in body["data"]["timeline"]] == ["fired", "silenced"]
    status, body = await served.call("DELETE", f"/api/v1/silences/{silence['id']}")
    assert status == 200
    assert body["data"]["status"]["state"] == "expired"
    status, body = await served.call("GET", "/api/v1/silences")
    assert [s["status"]["state"] for s in body["data"]] == ["expired"]


async def test_pending_silence_is_listed_as_pending(serve: Serve) -> None:
    """A silence that starts later is pending and does not mute yet."""
    served = await serve()
    status, body = await served.call(
        "POST",
        "/api/v1/silences",
        json={"matchers": [{"name": "alertname", "value": "EndpointDown", "isRegex": False}],
              "startsAt": iso(600), "endsAt": iso(3600), "createdBy": "a"},
    )  # fmt: skip
    assert status == 201, body
    assert body["data"]["status"]["state"] == "pending"
    await _post_alert(served, DOWN)
    assert (await served.call("GET", "/api/v1/incidents/1"))[1]["data"]["silenced"] is False


BAD = [
    ("GET", "/api/v1/incidents?state=sleeping", None, 400, "state"),
    ("GET", "/api/v1/incidents?limit=0", None, 400, "limit"),
    ("GET", "/api/v1/incidents?limit=abc", None, 400, "limit"),
    ("GET", "/api/v1/incidents?before=-1", None, 400, "before"),
    ("GET", "/api/v1/incidents?matcher=%7Bteam", None, 400, "matcher"),
    ("GET", "/api/v1/incidents?matcher=a%3D~%22(%22", None, 400, "regular expression"),
    ("GET", "/api/v1/incidents/abc", None, 400, "not a positive integer"),
    ("GET", "/api/v1/incidents/99999999999999999999999", None, 400, "not a positive integer"),
    ("GET", "/api/v1/incidents/42", None, 404, "no incident with id 42"),
    ("POST", "/api/v1/incidents/42/acknowledge", {"by": "a"}, 404, "no incident"),
    ("POST", "/api/v1/incidents/1/acknowledge", b"{not json", 400, "not valid JSON"),
    ("POST", "/api/v1/incidents/1/acknowledge", [1, 2], 400, "JSON object"),
    ("POST", "/api/v1/incidents/1/acknowledge", {"by": 5}, 400, "by must be"),
    ("POST", "/api/v1/incidents/1/resolve", {"by": "a", "comment": 1}, 400, "comment"),
    ("POST", "/api/v1/incidents/1/resolve", {"who": "a"}, 400, "unknown field"),
    ("PUT", "/api/v1/incidents/1", None, 405, "not allowed"),
    ("POST", "/api/v1/silences", {"matchers": []}, 400, "matchers"),
    ("POST", "/api/v1/silences", {"matchers": ["{a"], "endsAt": "x"}, 400, "matchers[0]"),
    ("POST", "/api/v1/silences", {"matchers": ['a=~""'], "endsAt": "2999-01-01T00:00:00Z",
                                  "createdBy": "x"}, 400, "match every alert"),
    ("POST", "/api/v1/silences", {"matchers": ['a="b"'], "endsAt": 5}, 400, "endsAt"),
    ("POST", "/api/v1/silences", {"matchers": ['a="b"'], "endsAt": "2000-01-01T00:00:00Z",
                                  "createdBy": "x"}, 400, "in the past"),
    ("POST", "/api/v1/silences", {"matchers": ['a="b"'], "endsAt": "2999-01-01T00:00:00Z"},
     400, "createdBy is required"),
    ("DELETE", "/api/v1/silences/7", None, 404, "no silence with id 7"),
    ("DELETE", "/api/v1/silences/x", None, 400, "not a positive integer"),
    ("POST", "/api/v2/alerts", {"labels": {}}, 400, "list of alerts"),
    ("POST", "/api/v2/alerts", [{"labels": {"a": 1}}], 400, "alerts[0].labels.a"),
    ("POST", "/api/v2/alerts", [{"labels": {"0bad": "x"}}], 400, "not a valid label name"),
    ("POST", "/api/v2/alerts", [{"labels": {"a": "b"}, "startsAt": "yesterday"}], 400,
     "startsAt"),
    ("POST", "/api/v2/alerts", b"", 400, "empty"),
    ("POST", "/api/v2/alerts", b"x" * (2 * 1024 * 1024), 413, "too large"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=[f"{c[0]} {c[1][:50]} {c[4]}" for c in BAD])
async def test_bad_input_is_a_4xx_naming_the_problem(serve: Serve, case: tuple[Any, ...]) -> None:
    """Malformed JSON, wrong types, unknown ids, bad matchers, big bodies, wrong methods."""
    method, path, body, status, needle = case
    served = await serve()
    await _post_alert(served, DOWN)
    kw: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
    got, answer = await served.call(method, path, **kw)
    assert got == status, answer
    assert answer["status"] == "error"
    assert needle in answer["error"]


async def test_acknowledging_twice_is_a_conflict(serve: Serve) -> None:
    """A second acknowledgement answers 409 naming who took it."""
    served = await serve()
    await _post_alert(served, DOWN)
    await served.call("POST", "/api/v1/incidents/1/acknowledge", json={"by": "alice"})
    status, body = await served.call("POST", "/api/v1/incidents/1/acknowledge", json={"by": "b"})
    assert status == 409
    assert "acknowledged by alice" in body["error"]


async def test_metrics_count_open_incidents_opened_and_response_times(serve: Serve) -> None:
    """The gauge follows open incidents; opened counts by bounded severity; MTTA/MTTR observed."""
    served = await serve()
    await _post_alert(served, DOWN)
    await _post_alert(served, {"alertname": "Odd", "severity": "sev-🙂"})
    await served.call("POST", "/api/v1/incidents/1/acknowledge", json={"by": "a"})
    await served.call("POST", "/api/v1/incidents/2/resolve", json={"by": "a"})
    _, text = await served.call("GET", "/metrics")
    lines = set(text.splitlines())
    assert 'aiwatch_incidents{state="firing"} 0.0' in lines
    assert 'aiwatch_incidents{state="acknowledged"} 1.0' in lines
    assert 'aiwatch_incidents_opened_total{severity="critical"} 1.0' in lines
    assert 'aiwatch_incidents_opened_total{severity="other"} 1.0' in lines
    assert "aiwatch_incident_time_to_acknowledge_seconds_count 1.0" in lines
    assert "aiwatch_incident_time_to_resolve_seconds_count 1.0" in lines


async def test_aiwatch_rules_open_incidents(tmp_path: Path) -> None:
    """A rule that fires from its first evaluation opens an incident through IncidentSink."""
    from aiwatch.app.build import COMPONENTS, make_app
    from aiwatch.config import load_config
    from aiwatch.runtime import ConfigState, Options

    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
        "      - alert: AlwaysFiring\n        expr: vector(1)\n"
        "        labels: {severity: warning}\n"
        "        annotations: {summary: 'value {{ $value }}'}\n"
    )
    config_file = tmp_path / "aiwatch.yml"
    config_file.write_text(f"targets: []\nrule_files: ['{rules}']\n")
    config = load_config(str(config_file))
    state = ConfigState(config, Options(storage_path=str(tmp_path / "data")))
    app = make_app(state, components=COMPONENTS)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        store = app[INCIDENT_STORE]
        found = []
        for _ in range(100):
            found = await store.find(Query())
            if found:
                break
            await asyncio.sleep(0.05)
        assert [(i.alertname, i.severity, i.state) for i in found] == [
            ("AlwaysFiring", "warning", "firing")
        ]
        assert found[0].annotations == {"summary": "value 1"}
        assert found[0].value == 1.0
    finally:
        await runner.cleanup()
