"""The live events feature: ``GET /api/v1/events``, fed by incidents, alerts, targets, probes."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from aiwatch.app.keys import EVENT_HUB, INCIDENT_STORE, TARGET_STATES, Deps
from aiwatch.config.model import Target
from aiwatch.events.documents import alert_data, incident_data, probe_data
from aiwatch.events.hub import PROBE, Hub, Listener, Missed
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.slo import TargetState
from aiwatch.rules.events import AlertEvent
from aiwatch.web.envelope import fail

KEEPALIVE_SECONDS = 15.0
"""A comment line (``: ping``) this often, so proxies keep an idle stream open."""
SEND_TIMEOUT_SECONDS = 30.0
"""A write to a client that has not taken any bytes for this long aborts its connection."""
FINAL_WRITE_SECONDS = 10.0
"""How long a dropped client has to take its final ``dropped`` event before it is cut off."""
BATCH_SECONDS = 0.1
"""After a write, a stream waits this long, so events close together share one write."""
RETRY_MS = 2000
"""The reconnection delay ``EventSource`` is told to use."""
_TRUE = {"true": True, "1": True, "false": False, "0": False, "": False}


class AlertEvents:
    """An ``AlertSink`` that publishes each alert transition (never a repeat)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """One ``alert`` event per changed alert instance."""
        for event in events:
            if event.changed:
                self.hub.publish("alert", alert_data(event))


def _target_listener(hub: Hub) -> Any:
    def changed(target: Target, new: TargetState, old: TargetState) -> None:
        hub.publish(
            "target",
            {
                "target": target.name,
                "feature": target.feature,
                "state": new.state,
                "previous": old.state,
                "reason": new.reason,
            },
        )

    return changed


def _probe_listener(hub: Hub) -> Any:
    def heard(result: ProbeResult) -> None:
        # Encoded only while someone listens: a daemon nobody watches pays nothing.
        if hub.probe_listeners:
            hub.publish(PROBE, probe_data(result), target=result.target)

    return heard


def _query(request: web.Request) -> tuple[bool, str, int | None]:
    probes = _TRUE.get(request.query.get("probes", "").lower())
    if probes is None:
        fail(400, "bad_data", "the 'probes' parameter must be true or false")
    target = request.query.get("target", "")
    if target and not probes:
        fail(400, "bad_data", "'target' chooses whose probe results to send: add probes=true")
    raw = request.headers.get("Last-Event-ID", request.query.get("last_event_id", "")).strip()
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        fail(400, "bad_data", f"Last-Event-ID {raw[:40]!r} is not an event id of this stream")
    return probes, target, int(raw) if raw else None


async def handle_events(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/events: a server-sent-events stream (see docs/events.md)."""
    hub = request.app[EVENT_HUB]
    probes, target, last_id = _query(request)
    if len(hub.listeners) >= hub.max_listeners:
        fail(503, "unavailable", f"{hub.max_listeners} event streams are open already")
    listener, missed = hub.subscribe(last_id=last_id, probes=probes, target=target)
    try:
        async with sse_response(
            request, ping_interval=KEEPALIVE_SECONDS, send_timeout=SEND_TIMEOUT_SECONDS
        ) as resp:
            # Sent at once, so a client sees the stream open before the first event.
            await resp.write(f"retry: {RETRY_MS}\r\n\r\n".encode())
            if missed is not None:
                await resp.send(_missed(missed), event="missed")
            await _serve(request, resp, hub, listener)
    finally:
        hub.unsubscribe(listener)
    return resp


def _missed(missed: Missed) -> str:
    return json.dumps(
        {
            "last_event_id": missed.last_id,
            "oldest_event_id": missed.oldest_id,
            "message": "events after Last-Event-ID are no longer kept; reload the state",
        }
    )


async def _serve(
    request: web.Request, resp: EventSourceResponse, hub: Hub, listener: Listener
) -> None:
    """Send the listener's events until it is dropped or the client goes."""
    sending = asyncio.ensure_future(_pump(resp, hub, listener))
    dropped = asyncio.ensure_future(listener.gone.wait())
    try:
        await asyncio.wait({sending, dropped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        dropped.cancel()
        if not sending.done():
            sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
            await sending
    if not listener.dropped:
        return
    data = '{"message":"this client fell behind by %d events and was dropped; reconnect"}'
    try:
        async with asyncio.timeout(FINAL_WRITE_SECONDS):
            await resp.send(data % hub.queue_size, event="dropped")
    except (TimeoutError, ConnectionError, RuntimeError):
        # A client that takes nothing would hold the connection (and its buffer) forever.
        if request.transport is not None:
            request.transport.abort()


async def _pump(resp: EventSourceResponse, hub: Hub, listener: Listener) -> None:
    # Each event's bytes are built once for every stream; what is queued goes in one write.
    # A client that takes nothing blocks this write; the queue then overflows (the client
    # is dropped), or the keep-alive ping's own timeout closes the connection.
    while events := await hub.next_events(listener):
        await resp.write(b"".join(event.wire for event in events))
        # What arrives meanwhile goes out together: with hundreds of streams, one write and
        # one wake-up per stream per batch instead of per event keeps the loop free.
        await asyncio.sleep(BATCH_SECONDS)


def setup(app: web.Application, deps: Deps) -> None:
    """Add the hub, its sources (incidents, alerts, targets, probes) and the route."""
    hub = Hub(first_id=int(time.time() * 1000))
    app[EVENT_HUB] = hub
    deps.alert_sinks.append(AlertEvents(hub))
    deps.probe_listeners.append(_probe_listener(hub))
    app[TARGET_STATES].on_change.append(_target_listener(hub))

    async def incident_changed(incident: dict[str, Any], change: str) -> None:
        hub.publish("incident", incident_data(incident, change))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[INCIDENT_STORE].add_listener(incident_changed)
        yield
        app[INCIDENT_STORE].remove_listener(incident_changed)

    async def end_streams(app: web.Application) -> None:
        # On shutdown, before aiohttp waits for open requests: streams never end by themselves.
        del app
        hub.close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(end_streams)
    app.router.add_get("/api/v1/events", handle_events, allow_head=False)
