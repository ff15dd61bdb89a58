"""The Alertmanager API v2 routes amtool and Grafana use, over the incident store.

Alerts are the open incidents; silences are the incident store's, so a silence made here is
the one ``/api/v1/silences`` lists and it mutes aiwatch's own notifications. Answers are
Alertmanager's documents, not aiwatch's envelope; a bad parameter is a 400 whose body is a
JSON string, as Alertmanager answers.
"""

import json
import platform
import sqlite3
import time
from typing import Any, NoReturn

from aiohttp import web

from aiwatch import __version__
from aiwatch.alertmanager_api.documents import (
    ROOT_RECEIVER,
    AlertView,
    config_yaml,
    groups_json,
    receiver_names,
    silence_json,
    sort_silences,
    version_info,
)
from aiwatch.alertmanager_api.filters import (
    AlertFilter,
    BadParameter,
    parse_filters,
    silence_matches_filter,
)
from aiwatch.app.keys import ALERTMANAGER_API_STARTED as STARTED
from aiwatch.app.keys import INCIDENT_STORE, STATE, Deps
from aiwatch.incidents import records, silences
from aiwatch.incidents.lifecycle import Incident, rfc3339
from aiwatch.incidents.records import NotFound
from aiwatch.incidents.silences import InvalidSilence, Silence, parse_silence
from aiwatch.notify.routing import compile_routes, matching
from aiwatch.web.auth import request_user
from aiwatch.web.envelope import ApiError, read_json

MAX_ID = 2**63 - 1
_POSTABLE = ("id", "matchers", "startsAt", "endsAt", "createdBy", "comment")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _answer(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


class _Refused(ApiError):
    """An Alertmanager-style error: the status and a JSON string saying why (an ``ApiError``,
    so the error middleware lets it through as it is)."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        self.error_type, self.message = "bad_data", message
        web.HTTPException.__init__(self, text=_dumps(message), content_type="application/json")


def _refuse(status: int, message: str) -> NoReturn:
    raise _Refused(status, message)


def _alert_filter(request: web.Request) -> AlertFilter:
    try:
        return AlertFilter.parse(request.query, request.query.getall("filter", []))
    except BadParameter as err:
        _refuse(400, str(err))


def _snapshot(
    conn: sqlite3.Connection, now: float
) -> tuple[list[Incident], dict[int, float], list[Silence]]:
    incidents = records.open_incidents(conn)
    updated = dict(
        conn.execute(
            # The last timeline event of each open incident is its last change.
            "SELECT e.incident_id, max(e.at) FROM incident_events e JOIN incidents i "
            "ON i.id = e.incident_id WHERE i.state IN ('firing', 'acknowledged') "
            "GROUP BY e.incident_id"
        ).fetchall()
    )
    return incidents, updated, silences.active(conn, now=now)


async def _views(request: web.Request) -> list[AlertView]:
    """Every open incident as an alert, by fingerprint (Alertmanager's order)."""
    store = request.app[INCIDENT_STORE]
    now = store.clock()
    incidents, updated, active = await store.read(lambda conn: _snapshot(conn, now))
    routes = compile_routes(request.app[STATE].current.notifications.routes)
    views = []
    for incident in incidents:
        names = tuple(r.name for r in matching(routes, incident.labels)) or (ROOT_RECEIVER,)
        silenced_by = tuple(str(s.id) for s in active if s.mutes(incident.labels, now=now))
        updated_at = updated.get(incident.id, incident.started_at)
        views.append(AlertView(incident, updated_at, names, silenced_by))
    return sorted(views, key=lambda v: v.fingerprint)


async def handle_alerts(request: web.Request) -> web.Response:
    """GET /api/v2/alerts: the open incidents as ``gettableAlerts``."""
    wanted = _alert_filter(request)
    views = await _views(request)
    return _answer(
        [v.to_json() for v in views if wanted.admits(v.incident.labels, v.receivers, v.state)]
    )


async def handle_groups(request: web.Request) -> web.Response:
    """GET /api/v2/alerts/groups: one group per receiver."""
    wanted = _alert_filter(request)
    kept = []
    for view in await _views(request):
        receivers = tuple(
            r for r in view.receivers if wanted.receiver is None or wanted.receiver.matches(r)
        )
        if receivers and wanted.admits(view.incident.labels, receivers, view.state):
            kept.append(AlertView(view.incident, view.updated_at, receivers, view.silenced_by))
    return _answer(groups_json(kept))


async def handle_silences(request: web.Request) -> web.Response:
    """GET /api/v2/silences: every silence matching the filter, in Alertmanager's order."""
    try:
        matchers = parse_filters(request.query.getall("filter", []))
    except BadParameter as err:
        _refuse(400, str(err))
    store = request.app[INCIDENT_STORE]
    now = store.clock()
    found = [s for s in await store.silences() if silence_matches_filter(s, matchers)]
    return _answer([silence_json(s, now=now) for s in sort_silences(found, now=now)])


def _silence_id(raw: Any) -> int | None:
    """A stored silence's id from its text form; None when it cannot be one."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


async def _body(request: web.Request) -> Any:
    try:
        return await read_json(request)
    except ApiError as err:
        if err.status_code != 400:
            raise
        _refuse(400, err.message)


async def handle_post_silence(request: web.Request) -> web.Response:
    """POST /api/v2/silences: create, or update when the body has an ``id``."""
    body = await _body(request)
    if not isinstance(body, dict):
        _refuse(400, "body must be a JSON object (a postableSilence)")
    # Alertmanager ignores fields outside postableSilence (a gettableSilence's status, say).
    body = {k: v for k, v in body.items() if k in _POSTABLE}
    raw_id = body.pop("id", None)
    replaces = None
    if raw_id not in (None, ""):
        replaces = _silence_id(raw_id)
        if replaces is None:
            _refuse(404, "silence not found")
    store = request.app[INCIDENT_STORE]
    try:
        silence = parse_silence(body, now=store.clock(), user=request_user(request))
    except InvalidSilence as err:
        _refuse(400, f"failed to create silence: {err}")
    try:
        stored = await store.add_silence(silence, replaces=replaces)
    except NotFound:
        _refuse(404, "silence not found")
    return _answer({"silenceID": str(stored.id)})


def _path_id(request: web.Request) -> int:
    silence_id = _silence_id(request.match_info["id"])
    if silence_id is None:
        _refuse(404, "silence not found")
    return silence_id


async def handle_get_silence(request: web.Request) -> web.Response:
    """GET /api/v2/silence/{id}: one ``gettableSilence``."""
    silence_id = _path_id(request)
    store = request.app[INCIDENT_STORE]
    try:
        silence = await store.read(lambda conn: silences.get(conn, silence_id))
    except NotFound:
        _refuse(404, "silence not found")
    return _answer(silence_json(silence, now=store.clock()))


async def handle_delete_silence(request: web.Request) -> web.Response:
    """DELETE /api/v2/silence/{id}: expire it now (an expired one stays as it is)."""
    silence_id = _path_id(request)
    try:
        await request.app[INCIDENT_STORE].expire_silence(silence_id)
    except NotFound:
        _refuse(404, "silence not found")
    return web.Response(status=200)


async def handle_status(request: web.Request) -> web.Response:
    """GET /api/v2/status: no cluster, aiwatch's version, its routes as a config, uptime."""
    routes = request.app[STATE].current.notifications.routes
    return _answer(
        {
            "cluster": {"status": "disabled", "peers": []},
            "versionInfo": version_info(__version__, platform.python_version()),
            "config": {"original": config_yaml(routes)},
            "uptime": rfc3339(request.app[STARTED]),
        }
    )


async def handle_receivers(request: web.Request) -> web.Response:
    """GET /api/v2/receivers: the root receiver and one per notification route."""
    routes = request.app[STATE].current.notifications.routes
    return _answer([{"name": name} for name in receiver_names(routes)])


def setup(app: web.Application, deps: Deps) -> None:
    """Add the routes; they read the incident store (``INCIDENT_STORE``) when they answer."""
    del deps  # the routes read the incident store and the config through the app's keys
    app[STARTED] = time.time()
    router = app.router
    router.add_get("/api/v2/alerts", handle_alerts)
    router.add_get("/api/v2/alerts/groups", handle_groups)
    router.add_get("/api/v2/silences", handle_silences)
    router.add_post("/api/v2/silences", handle_post_silence)
    router.add_get("/api/v2/silence/{id}", handle_get_silence)
    router.add_delete("/api/v2/silence/{id}", handle_delete_silence)
    router.add_get("/api/v2/status", handle_status)
    router.add_get("/api/v2/receivers", handle_receivers)
