"""What refusals (409) and timeline entries say about an incident."""

import math
from typing import Any

from aiwatch.app.keys import INCIDENT_STORE
from aiwatch.incidents.lifecycle import Alert

from .conftest import Serve, Served, iso, post_down


async def _ack(served: Served, by: str) -> tuple[int, Any]:
    return await served.call("POST", "/api/v1/incidents/1/acknowledge", json={"by": by})


async def test_acknowledging_a_resolved_incident_names_its_resolver(serve: Serve) -> None:
    """Acked by carol, resolved by the rule: a late ack is told 'resolved by rule', not carol."""
    served = await serve()
    await post_down(served, startsAt=iso(-60))
    assert (await _ack(served, "carol"))[0] == 200
    await post_down(served, startsAt=iso(-60), endsAt=iso(-1))
    status, body = await _ack(served, "bob")
    assert status == 409
    assert body["errorType"] == "bad_data"
    assert body["error"] == (
        "incident 1 is resolved by rule; only a firing one can be acknowledged"
    )


async def test_acknowledging_an_incident_a_person_resolved_names_that_person(
    serve: Serve,
) -> None:
    """Acked by carol, resolved by dave: the refusal names dave."""
    served = await serve()
    await post_down(served)
    assert (await _ack(served, "carol"))[0] == 200
    status, _ = await served.call("POST", "/api/v1/incidents/1/resolve", json={"by": "dave"})
    assert status == 200
    status, body = await _ack(served, "bob")
    assert status == 409
    assert "is resolved by dave;" in body["error"]
    assert "carol" not in body["error"]


async def test_fired_event_spells_an_infinite_value(serve: Serve) -> None:
    """A rule firing with +Inf says 'value +Inf' on the timeline, not 'value unknown'."""
    served = await serve()
    store = served.app[INCIDENT_STORE]
    for name, value in (("Up", math.inf), ("Down", -math.inf), ("Pushed", math.nan)):
        labels = {"alertname": name}
        alert = Alert(
            fingerprint=name, state="firing", labels=labels, annotations={}, value=value, at=1.0
        )
        await store.observe([alert])
    details = {}
    for incident_id in (1, 2, 3):
        status, body = await served.call("GET", f"/api/v1/incidents/{incident_id}")
        assert status == 200
        assert body["data"]["value"] is None  # JSON has no Inf or NaN
        details[body["data"]["alertname"]] = body["data"]["timeline"][0]["detail"]
    assert details == {"Up": "value +Inf", "Down": "value -Inf", "Pushed": "value unknown"}
