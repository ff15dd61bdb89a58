"""``GET /api/v1/events`` over plain HTTP: order, resume, probe filters, slow clients."""

import asyncio
import time

import aiohttp
import pytest

from aiwatch.app.keys import EVENT_HUB
from aiwatch.events import web as events_web

from .conftest import Serve, Served, SseEvent, read_event, result

DOWN = {"alertname": "EndpointDown", "severity": "critical", "target": "chat-primary"}


async def _events(resp: aiohttp.ClientResponse, count: int) -> list[SseEvent]:
    out = []
    async with asyncio.timeout(30):  # a bound for a loaded machine, not a speed target
        for _ in range(count):
            event = await read_event(resp)
            assert event is not None, f"stream ended after {[e.event for e in out]}"
            out.append(event)
    return out


async def _incident_story(served: Served) -> int:
    """Open, acknowledge and resolve one incident through the API; returns its id."""
    status, body = await served.call("POST", "/api/v2/alerts", json=[{"labels": DOWN}])
    assert status == 200, body
    status, listing = await served.call("GET", "/api/v1/incidents")
    incident_id: int = listing["data"][0]["id"]
    for action in ("acknowledge", "resolve"):
        status, body = await served.call(
            "POST", f"/api/v1/incidents/{incident_id}/{action}", json={"by": "alice"}
        )
        assert status == 200, body
    return incident_id


async def test_incident_changes_arrive_in_order_with_increasing_ids(serve: Serve) -> None:
    """Fired, acknowledged and resolved reach a listener in that order, ids increasing, and
    each event's data is the incident's document at that step."""
    served = await serve()
    async with served.session.get(served.url + "/api/v1/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        incident_id = await _incident_story(served)
        events = await _events(resp, 3)
    assert [e.event for e in events] == ["incident"] * 3
    assert [e.json()["change"] for e in events] == ["fired", "acknowledged", "resolved"]
    assert [e.json()["incident"]["state"] for e in events] == [
        "firing",
        "acknowledged",
        "resolved",
    ]
    assert {e.json()["incident"]["id"] for e in events} == {incident_id}
    ids = [int(e.id or 0) for e in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


async def test_last_event_id_resumes_after_the_given_event(serve: Serve) -> None:
    """A client reconnecting with Last-Event-ID gets exactly the events after it, in order."""
    served = await serve()
    async with served.session.get(served.url + "/api/v1/events") as resp:
        await _incident_story(served)
        first = await _events(resp, 3)
    headers = {"Last-Event-ID": first[0].id or ""}
    async with served.session.get(served.url + "/api/v1/events", headers=headers) as resp:
        again = await _events(resp, 2)
        # Nothing else is replayed: the next event is a new one.
        served.app[EVENT_HUB].publish("incident", {"change": "marker"})
        marker = await _events(resp, 1)
    assert [(e.id, e.json()["change"]) for e in again] == [
        (e.id, e.json()["change"]) for e in first[1:]
    ]
    assert marker[0].json() == {"change": "marker"}
    assert int(marker[0].id or 0) > int(first[-1].id or 0)


async def test_an_id_older_than_the_ring_starts_with_a_missed_event(serve: Serve) -> None:
    """Resuming from an id that left the ring (or from before a restart) first says so."""
    served = await serve()
    hub = served.app[EVENT_HUB]
    first = hub.publish("incident", {"change": "one"})
    for n in range(hub_ring(served) + 5):
        hub.publish("incident", {"change": f"filler {n}"})
    for stale in (first.id, hub.first_id - 1000):
        headers = {"Last-Event-ID": str(stale)}
        async with served.session.get(served.url + "/api/v1/events", headers=headers) as resp:
            missed = (await _events(resp, 1))[0]
        assert missed.event == "missed"
        assert missed.id is None
        assert missed.json()["last_event_id"] == stale
    status, body = await served.call("GET", "/api/v1/events", headers={"Last-Event-ID": "x1"})
    assert status == 400, body


def hub_ring(served: Served) -> int:
    """How many events the hub's ring keeps."""
    ring = served.app[EVENT_HUB]._ring
    assert ring.maxlen is not None
    return ring.maxlen


async def test_probe_results_only_when_asked_and_only_for_the_target(serve: Serve) -> None:
    """probes=true&target=NAME sends that target's probe results; a plain stream gets only
    the target state change those results cause."""
    served = await serve()
    url = served.url + "/api/v1/events"
    async with (
        served.session.get(url) as plain,
        served.session.get(url + "?probes=true&target=embed") as probes,
    ):
        await asyncio.sleep(0.1)
        served.probed(result("chat-primary", success=False, at=time.time()))
        served.probed(result("embed", success=True, at=time.time()))
        served.probed(result("embed", success=False, at=time.time()))
        plain_events = await _events(plain, 3)
        probe_events = await _events(probes, 5)
    assert [(e.event, e.json()["target"], e.json()["state"]) for e in plain_events] == [
        ("target", "chat-primary", "down"),
        ("target", "embed", "up"),
        ("target", "embed", "down"),
    ]
    kinds = [(e.event, e.json()["target"]) for e in probe_events]
    assert kinds == [
        ("target", "chat-primary"),
        ("target", "embed"),
        ("probe", "embed"),
        ("target", "embed"),
        ("probe", "embed"),
    ]
    assert [e.json()["success"] for e in probe_events if e.event == "probe"] == [True, False]
    status, _ = await served.call("GET", "/api/v1/events?target=embed")
    assert status == 400


async def _until_end(resp: aiohttp.ClientResponse) -> list[SseEvent]:
    out = []
    async with asyncio.timeout(30):
        while (event := await read_event(resp)) is not None:
            out.append(event)
    return out


async def test_a_slow_client_is_dropped_with_a_final_event_and_others_go_on(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that stops reading is dropped once its queue overflows: it finds a final
    ``dropped`` event and the end of the stream; a reading client gets every event and
    /-/healthy keeps answering meanwhile."""
    # The slow client reads again only once the publishing is over: on a loaded machine
    # that may be later than the 10 s a dropped client normally has for its last event.
    monkeypatch.setattr(events_web, "FINAL_WRITE_SECONDS", 60.0)
    served = await serve()
    hub = served.app[EVENT_HUB]
    # Room for what arrives while a stream waits between writes (about 20 events here).
    hub.queue_size = 64
    payload = "x" * 65536
    count = 300  # 20 MB: more than the socket buffers hold for the client that does not read
    url = served.url + "/api/v1/events"
    slow_session = aiohttp.ClientSession()
    try:
        async with slow_session.get(url) as slow, served.session.get(url) as fast:
            reader = asyncio.ensure_future(_events(fast, count))
            for n in range(count):
                hub.publish("incident", {"change": "bulk", "n": n, "pad": payload})
                await asyncio.sleep(0.005)
            status, body = await served.call("GET", "/-/healthy")
            assert status == 200, body
            slow_reader = asyncio.ensure_future(_until_end(slow))
            received = await reader
            tail = await slow_reader
            assert not any(listener.dropped for listener in hub.listeners)
    finally:
        await slow_session.close()
    assert [e.json()["n"] for e in received] == list(range(count))
    assert tail[-1].event == "dropped"
    assert "fell behind" in tail[-1].json()["message"]
    got = [e.json()["n"] for e in tail[:-1]]
    assert got == list(range(len(got)))
    assert len(got) < count


async def test_an_idle_stream_gets_keepalive_comments(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no event to send, the stream still carries ``: ping`` comment lines (so proxies
    keep it open), after the ``retry`` line that opens it."""
    monkeypatch.setattr(events_web, "KEEPALIVE_SECONDS", 0.05)
    served = await serve()
    async with served.session.get(served.url + "/api/v1/events") as resp:
        lines = []
        async with asyncio.timeout(5):
            while len([x for x in lines if x.startswith(b": ping")]) < 2:
                lines.append(await resp.content.readline())
    assert lines[0] == b"retry: 2000\r\n"
    assert not [x for x in lines if x.startswith((b"id:", b"event:", b"data:"))]
