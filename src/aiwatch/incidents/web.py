"""The incidents feature: the store's lifecycle, its routes, Alertmanager ingest, metrics."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from aiwatch.app.errors import StartupError
from aiwatch.app.keys import INCIDENT_SINK, INCIDENT_STORE, STORAGE_PROBLEM, Deps
from aiwatch.incidents.ingest import InvalidAlerts, parse_alerts
from aiwatch.incidents.lifecycle import IllegalTransition, Incident, State
from aiwatch.incidents.metrics import IncidentMetrics
from aiwatch.incidents.records import NotFound, Query
from aiwatch.incidents.silences import InvalidSilence, parse_silence
from aiwatch.incidents.sink import IncidentSink
from aiwatch.incidents.store import IncidentStore
from aiwatch.matchers import parse_matcher
from aiwatch.storage import health
from aiwatch.storage.sqlite import DatabaseError, check_file
from aiwatch.web.auth import request_user
from aiwatch.web.envelope import fail, ok, read_json

log = logging.getLogger("aiwatch.incidents")

STATES: tuple[State, ...] = ("firing", "acknowledged", "resolved")
MAX_LIMIT = 1000
MAX_ID = 2**63 - 1
MAX_TEXT = 4096
EXPIRY_SECONDS = 1.0
"""How often open incidents of pushed alerts are checked against their ``endsAt``."""


def _digits(raw: str) -> bool:
    # str.isdigit() also takes '²' and full-width digits, which int() refuses or misreads.
    # More than 19 digits is past every bound here (int() refuses over 4,300 anyway).
    return raw.isascii() and raw.isdigit() and len(raw.lstrip("0")) <= 19


def _id(request: web.Request, what: str) -> int:
    raw = request.match_info["id"]
    if not _digits(raw) or not 0 < int(raw) <= MAX_ID:
        fail(400, "bad_data", f"{what} id {raw!r} is not a positive integer")
    return int(raw)


def _int_param(query: Mapping[str, str], name: str, *, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not _digits(raw) or not low <= int(raw) <= high:
        fail(400, "bad_data", f"{name}={raw!r}: want an integer from {low} to {high}")
    return int(raw)


def _list_param(request: web.Request, name: str) -> tuple[str, ...]:
    values: list[str] = []
    for raw in request.query.getall(name, []):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return tuple(values)


def parse_query(request: web.Request) -> Query:
    """The list filters of ``GET /api/v1/incidents``; a 400 names a bad one."""
    states = _list_param(request, "state")
    for state in states:
        if state not in (*STATES, "open"):
            fail(400, "bad_data", f"state={state!r}: want firing, acknowledged, resolved or open")
    expanded = {s for st in states for s in (("firing", "acknowledged") if st == "open" else (st,))}
    matchers = []
    for text in request.query.getall("matcher", []):
        try:
            matchers.append(parse_matcher(text))
        except ValueError as err:
            fail(400, "bad_data", f"matcher: {err}")
    limit = _int_param(request.query, "limit", low=1, high=MAX_LIMIT)
    return Query(
        states=tuple(s for s in STATES if s in expanded),
        severities=_list_param(request, "severity"),
        matchers=tuple(matchers),
        limit=100 if limit is None else limit,
        before=_int_param(request.query, "before", low=1, high=MAX_ID),
    )


async def handle_list(request: web.Request) -> web.Response:
    """GET /api/v1/incidents: newest first, without timelines."""
    found = await request.app[INCIDENT_STORE].find(parse_query(request))
    return ok([incident.to_json(timeline=False) for incident in found])


async def handle_get(request: web.Request) -> web.Response:
    """GET /api/v1/incidents/{id}: one incident with its timeline."""
    incident_id = _id(request, "incident")
    try:
        incident = await request.app[INCIDENT_STORE].get(incident_id)
    except NotFound as err:
        fail(404, "not_found", str(err))
    return ok(incident.to_json())


async def _optional_json(request: web.Request) -> Any:
    """The body as JSON; an empty body is an empty object (``curl -X POST`` with no data)."""
    if request.content_length == 0 or (
        request.content_length is None and not request.can_read_body
    ):
        return {}
    return await read_json(request)


async def _action_body(request: web.Request) -> tuple[str, str]:
    body = await _optional_json(request)
    if not isinstance(body, dict):
        fail(400, "bad_data", 'body must be a JSON object like {"by": "alice", "comment": "…"}')
    unknown = set(body) - {"by", "comment"}
    if unknown:
        fail(400, "bad_data", f"unknown field(s): {', '.join(sorted(unknown))}")
    by = body.get("by") or request_user(request)
    comment = body.get("comment", "")
    if by is None:
        fail(400, "bad_data", "by is required (who acts) when the request is not authenticated")
    if not isinstance(by, str) or not by.strip():
        fail(400, "bad_data", "by must be a non-empty string")
    if not isinstance(comment, str):
        fail(400, "bad_data", "comment must be a string")
    if len(by) > MAX_TEXT or len(comment) > MAX_TEXT:
        fail(400, "bad_data", f"by and comment are limited to {MAX_TEXT} characters")
    return by, comment


async def _act(request: web.Request, action: str) -> web.Response:
    incident_id = _id(request, "incident")
    by, comment = await _action_body(request)
    store = request.app[INCIDENT_STORE]
    move = store.acknowledge if action == "acknowledge" else store.resolve
    try:
        incident: Incident = await move(incident_id, by=by, comment=comment)
    except NotFound as err:
        fail(404, "not_found", str(err))
    except IllegalTransition as err:
        fail(409, "bad_data", str(err))
    return ok(incident.to_json())


async def handle_acknowledge(request: web.Request) -> web.Response:
    """POST /api/v1/incidents/{id}/acknowledge."""
    return await _act(request, "acknowledge")


async def handle_resolve(request: web.Request) -> web.Response:
    """POST /api/v1/incidents/{id}/resolve."""
    return await _act(request, "resolve")


async def handle_silences(request: web.Request) -> web.Response:
    """GET /api/v1/silences: every silence with its state, newest first."""
    store = request.app[INCIDENT_STORE]
    now = store.clock()
    return ok([s.to_json(now=now) for s in await store.silences()])


async def handle_add_silence(request: web.Request) -> web.Response:
    """POST /api/v1/silences: a new silence (201)."""
    store = request.app[INCIDENT_STORE]
    body = await read_json(request)
    try:
        silence = parse_silence(body, now=store.clock(), user=request_user(request))
    except InvalidSilence as err:
        fail(400, "bad_data", str(err))
    stored = await store.add_silence(silence)
    return ok(stored.to_json(now=store.clock()), status=201)


async def handle_expire_silence(request: web.Request) -> web.Response:
    """DELETE /api/v1/silences/{id}: end it now."""
    silence_id = _id(request, "silence")
    store = request.app[INCIDENT_STORE]
    try:
        silence = await store.expire_silence(silence_id)
    except NotFound as err:
        fail(404, "not_found", str(err))
    return ok(silence.to_json(now=store.clock()))


async def handle_post_alerts(request: web.Request) -> web.Response:
    """POST /api/v2/alerts: Alertmanager API v2 alerts open, update and resolve incidents."""
    store = request.app[INCIDENT_STORE]
    body = await read_json(request)
    try:
        alerts = parse_alerts(body, now=store.clock())
    except InvalidAlerts as err:
        fail(400, "bad_data", str(err))
    await store.observe(alerts)
    # Alertmanager answers an empty 200; the envelope says how many were taken.
    return ok({"received": len(alerts)})


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    store = app[INCIDENT_STORE]
    try:
        await store.open()
    except DatabaseError as err:
        raise StartupError(str(err)) from err
    log.info("Incident store open", extra={"file": str(store.path)})
    tasks = [
        asyncio.create_task(_expire_forever(store), name="aiwatch-incident-expiry"),
        asyncio.create_task(_watch_storage(app, store), name="aiwatch-storage-check"),
    ]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[INCIDENT_SINK].close()
    await store.close()


STORAGE_CHECK_SECONDS = 2.0
"""How often the storage path is test-written for ``/-/ready``."""


async def _watch_storage(app: web.Application, store: IncidentStore) -> None:
    """Keep ``app[STORAGE_PROBLEM]`` current: a small test write, and the store's own state."""
    directory = str(store.path.parent)
    problem = app[STORAGE_PROBLEM]
    while True:
        found = await asyncio.to_thread(health.probe, directory)
        if found is None and store.write_error is not None:
            # The disk takes writes again: an empty transaction clears the store's flag.
            with contextlib.suppress(Exception):
                await store.write(lambda conn: None)
        if found != problem[0]:
            if found is not None:
                log.error("Storage cannot be written; not ready", extra={"err": found})
            else:
                log.info("Storage can be written again", extra={"path": directory})
        problem[0] = found
        await asyncio.sleep(STORAGE_CHECK_SECONDS)


def _readiness(app: web.Application, store: IncidentStore) -> str | None:
    """Why the incident storage cannot be written now, or None."""
    if store.write_error is not None:
        return f"the incident store cannot be written: {store.write_error}"
    return app[STORAGE_PROBLEM][0]


async def _expire_forever(store: IncidentStore) -> None:
    # Alertmanager resolves an alert at its endsAt when the sender goes quiet; so does aiwatch.
    while True:
        try:
            await store.expire_past_ends()
        except Exception:
            log.exception("Resolving incidents past their endsAt failed")
        await asyncio.sleep(EXPIRY_SECONDS)


_LOGGED = {"fired": "Incident opened", "acknowledged": "Incident acknowledged"}


def log_incident(incident: Incident, event: str) -> None:
    """One info line when an incident opens, is acknowledged or is resolved."""
    message = _LOGGED.get(event, "Incident resolved" if event == "resolved" else None)
    if message is None:
        return
    extra: dict[str, object] = {
        "id": incident.id,
        "alertname": incident.alertname,
        "severity": incident.labels.get("severity", ""),
    }
    if "target" in incident.labels:
        extra["target"] = incident.labels["target"]
    by = incident.acknowledged_by if event == "acknowledged" else incident.resolved_by
    if event != "fired" and by:
        extra["by"] = by
    log.info(message, extra=extra)


def setup(app: web.Application, deps: Deps) -> None:
    """Add the incident store (in the shared database), its rules sink, metrics and routes."""
    path = deps.database.path
    try:
        # Before any feature starts, so a bad file stops the daemon with nothing to undo.
        check_file(path)
    except DatabaseError as err:
        raise StartupError(str(err)) from err
    store = IncidentStore(path, database=deps.database)
    app[INCIDENT_STORE] = store
    store.add_observer(IncidentMetrics(deps.registry, lambda: store.counts))
    store.add_observer(log_incident)
    sink = IncidentSink(store)
    app[INCIDENT_SINK] = sink
    deps.alert_sinks.append(sink)
    no_problem: list[str | None] = [None]
    app[STORAGE_PROBLEM] = no_problem
    deps.readiness.append(lambda: _readiness(app, store))
    app.cleanup_ctx.append(_lifecycle)
    router = app.router
    router.add_get("/api/v1/incidents", handle_list)
    router.add_get("/api/v1/incidents/{id}", handle_get)
    router.add_post("/api/v1/incidents/{id}/acknowledge", handle_acknowledge)
    router.add_post("/api/v1/incidents/{id}/resolve", handle_resolve)
    router.add_get("/api/v1/silences", handle_silences)
    router.add_post("/api/v1/silences", handle_add_silence)
    router.add_delete("/api/v1/silences/{id}", handle_expire_silence)
    router.add_post("/api/v2/alerts", handle_post_alerts)
