"""The alerts, rules and silences pages."""

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from aiwatch.app.keys import INCIDENT_STORE, RULE_MANAGER
from aiwatch.incidents.records import NotFound
from aiwatch.incidents.silences import InvalidSilence, parse_silence
from aiwatch.pages.incidents import BadFilter, split_matchers
from aiwatch.pages.view import actor, form, page, see_other
from aiwatch.web.envelope import fail

MAX_HOURS = 24 * 365


def _manager_data(request: web.Request) -> Any:
    return request.app.get(RULE_MANAGER)


async def alerts_page(request: web.Request) -> web.Response:
    """GET /alerts: the rules' pending and firing alerts."""
    manager = _manager_data(request)
    alerts = manager.alerts_data()["alerts"] if manager is not None else []
    return page(request, "alerts.html", {"alerts": alerts})


async def rules_page(request: web.Request) -> web.Response:
    """GET /rules: every group and rule with its health and query."""
    manager = _manager_data(request)
    groups = manager.rules_data(rule_type=None)["groups"] if manager is not None else []
    return page(request, "rules.html", {"groups": groups})


async def silences_page(request: web.Request) -> web.Response:
    """GET /silences: every silence with its state; a form to add one."""
    store = request.app[INCIDENT_STORE]
    now = store.clock()
    silences = [(s, s.state(now)) for s in await store.silences()]
    matchers = request.query.get("matchers", "")
    return page(request, "silences.html", {"silences": silences, "matchers": matchers})


async def add_silence(request: web.Request) -> web.Response:
    """POST /silences: a new silence from the form (matchers, hours, comment)."""
    fields = await form(request)
    by = actor(request, fields)
    hours = fields.get("hours", "")
    if not (hours.isascii() and hours.isdigit() and 0 < int(hours) <= MAX_HOURS):
        fail(400, "bad_data", f"hours: want a whole number from 1 to {MAX_HOURS}")
    store = request.app[INCIDENT_STORE]
    now = store.clock()
    try:
        body = {
            "matchers": [str(m) for m in split_matchers(fields.get("matchers", ""))],
            "endsAt": datetime.fromtimestamp(now + int(hours) * 3600, UTC).isoformat(),
            "createdBy": by,
            "comment": fields.get("comment", ""),
        }
        silence = parse_silence(body, now=now, user=by)
    except (BadFilter, InvalidSilence) as err:
        fail(400, "bad_data", str(err))
    await store.add_silence(silence)
    see_other(request, "/silences")


async def expire_silence(request: web.Request) -> web.Response:
    """POST /silences/{id}/expire: end it now."""
    await form(request)
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw.lstrip("0")) <= 18):
        fail(404, "not_found", f"no silence {raw!r}")
    try:
        await request.app[INCIDENT_STORE].expire_silence(int(raw))
    except NotFound as err:
        fail(404, "not_found", str(err))
    see_other(request, "/silences")
