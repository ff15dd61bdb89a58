"""Pushed alerts end at their ``endsAt`` when no newer report arrives, as in Alertmanager."""

import asyncio
from typing import Any

from .conftest import Serve, Served, iso, post_down


async def _incident(served: Served, incident_id: int) -> dict[str, Any]:
    status, body = await served.call("GET", f"/api/v1/incidents/{incident_id}")
    assert status == 200, body
    doc: dict[str, Any] = body["data"]
    return doc


async def _wait_resolved(served: Served, incident_id: int) -> dict[str, Any]:
    for _ in range(100):
        doc = await _incident(served, incident_id)
        if doc["state"] == "resolved":
            return doc
        await asyncio.sleep(0.05)
    raise AssertionError(f"incident {incident_id} never resolved: {doc}")


async def test_incident_resolves_when_endsat_passes_without_refresh(serve: Serve) -> None:
    """A sender that goes quiet (Prometheus down) leaves no incident open past its endsAt."""
    served = await serve()
    await post_down(served, startsAt=iso(-60), endsAt=iso(0.6))
    assert (await _incident(served, 1))["state"] == "firing"
    doc = await _wait_resolved(served, 1)
    assert doc["resolved_by"] == "rule"
    assert [e["event"] for e in doc["timeline"]] == ["fired", "resolved"]
    assert "endsAt" in doc["timeline"][-1]["detail"]


async def test_refreshed_endsat_keeps_the_incident_open(serve: Serve) -> None:
    """Each resend moves endsAt on, as Prometheus does every minute; no timeline noise."""
    served = await serve()
    await post_down(served, startsAt=iso(-60), endsAt=iso(0.5))
    await post_down(served, startsAt=iso(-60), endsAt=iso(600))
    await asyncio.sleep(1.6)
    doc = await _incident(served, 1)
    assert doc["state"] == "firing"
    assert [e["event"] for e in doc["timeline"]] == ["fired"]


async def test_a_sender_back_after_expiry_opens_a_linked_incident(serve: Serve) -> None:
    """Prometheus back after a gap, alert still firing (same startsAt): a new linked incident."""
    served = await serve()
    starts = iso(-60)
    await post_down(served, startsAt=starts, endsAt=iso(0.4))
    await _wait_resolved(served, 1)
    await post_down(served, startsAt=starts, endsAt=iso(600))
    status, body = await served.call("GET", "/api/v1/incidents?state=firing")
    assert status == 200
    assert [(i["id"], i["previous_id"]) for i in body["data"]] == [(2, 1)]


async def test_a_late_copy_after_a_resolve_still_opens_nothing(serve: Serve) -> None:
    """A delayed copy of an older firing report (same endsAt as before) stays ignored."""
    served = await serve()
    starts, ends = iso(-60), iso(600)
    await post_down(served, startsAt=starts, endsAt=ends)
    await post_down(served, startsAt=starts, endsAt=iso(-1))
    await post_down(served, startsAt=starts, endsAt=ends)
    status, body = await served.call("GET", "/api/v1/incidents")
    assert status == 200
    assert [i["state"] for i in body["data"]] == ["resolved"]
