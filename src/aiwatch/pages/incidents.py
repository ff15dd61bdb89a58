"""The incident pages: the list with its filters, one incident, and what people do to it."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from aiwatch.app.keys import INCIDENT_STORE, STATE
from aiwatch.incidents.lifecycle import IllegalTransition, Incident
from aiwatch.incidents.records import NotFound, Query
from aiwatch.matchers import Matcher, parse_matcher
from aiwatch.pages.view import actor, form, page, see_other
from aiwatch.web.envelope import fail

PAGE_SIZE = 50
STATES = ("open", "firing", "acknowledged", "resolved", "all")
MAX_TEXT = 4096
SILENCE_HOURS = (1, 4, 24, 168)
_ONE_MATCHER = re.compile(
    r'[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|[^"\s,{}]*)'
)


class BadFilter(ValueError):
    """A filter of the list that cannot be used; the message names it."""


def split_matchers(text: str) -> tuple[Matcher, ...]:
    """``target="chat", env=~"prod.*"`` (commas or spaces between) as matchers."""
    found = [m.group(0) for m in _ONE_MATCHER.finditer(text)]
    rest = _ONE_MATCHER.sub("", text).replace(",", "").strip()
    if rest:
        raise BadFilter(f'label matchers: cannot read {rest!r} (want name="value", !=, =~, !~)')
    try:
        return tuple(parse_matcher(m) for m in found)
    except ValueError as err:
        raise BadFilter(f"label matchers: {err}") from None


def _time(raw: str, name: str) -> float | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"{name}: {raw!r} is not a date and time like 2026-12-06T21:00") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def query_of(params: Mapping[str, str]) -> Query:
    """The store query of the list page's filters; ``BadFilter`` names a bad one."""
    state = params.get("state", "open") or "open"
    if state not in STATES:
        raise BadFilter(f"state: want one of {', '.join(STATES)}")
    matchers = split_matchers(params.get("matchers", ""))
    if alertname := params.get("alertname", "").strip():
        matchers = (Matcher(name="alertname", op="=", value=alertname), *matchers)
    before = params.get("before", "")
    if before and not (before.isascii() and before.isdigit() and len(before) < 19):
        raise BadFilter("before: want an incident id")
    severity = params.get("severity", "").strip()
    states = {"open": ("firing", "acknowledged"), "all": ()}.get(state, (state,))
    return Query(
        states=states,  # type: ignore[arg-type]
        severities=tuple(s.strip() for s in severity.split(",") if s.strip()),
        matchers=matchers,
        limit=PAGE_SIZE + 1,
        before=int(before) if before else None,
        started_after=_time(params.get("since", ""), "since"),
        started_before=_time(params.get("until", ""), "until"),
        text=params.get("q", "")[:MAX_TEXT],
    )


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def list_page(request: web.Request) -> web.Response:
    """GET /incidents: search, filters (state, severity, alertname, matchers, time), pages."""
    params = {k: request.query.get(k, "") for k in request.query}
    try:
        found = await request.app[INCIDENT_STORE].find(query_of(params))
        problem = ""
    except BadFilter as err:
        found, problem = [], str(err)
    older = ""
    if len(found) > PAGE_SIZE:
        found = found[:PAGE_SIZE]
        older = urlencode({**params, "before": str(found[-1].id)})
    filters = {k: params.get(k, "") for k in ("q", "severity", "alertname", "matchers")}
    filters |= {k: params.get(k, "") for k in ("since", "until")}
    context = {
        "incidents": found,
        "filters": filters,
        "state": params.get("state", "open") or "open",
        "states": STATES,
        "problem": problem,
        "older": older,
        "paged": bool(params.get("before")),
        "newest": urlencode({k: v for k, v in params.items() if k != "before"}),
    }
    return page(request, "incidents.html", context, status=400 if problem else 200)


def _incident_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw.lstrip("0")) <= 18):
        fail(404, "not_found", f"no incident {raw!r}")
    return int(raw)


async def _incident(request: web.Request) -> Incident:
    try:
        return await request.app[INCIDENT_STORE].get(_incident_id(request))
    except NotFound as err:
        fail(404, "not_found", str(err))


async def incident_page(request: web.Request) -> web.Response:
    """GET /incidents/{id}: labels, annotations, timeline, the rule's query, the buttons
    (Silence similar posts the incident's labels as matchers to ``/silences``)."""
    incident = await _incident(request)
    similar = ", ".join(f"{k}={_quoted(v)}" for k, v in sorted(incident.labels.items()))
    target = incident.labels.get("target", "")
    configured = any(t.name == target for t in request.app[STATE].current.targets)
    context = {
        "incident": incident,
        "similar": similar,
        "silence_hours": SILENCE_HOURS,
        "target": target if configured else "",
    }
    return page(request, "incident.html", context)


async def act(request: web.Request) -> web.Response:
    """POST /incidents/{id}/{acknowledge,resolve}: the store's move, as the API makes it."""
    incident = await _incident(request)
    fields = await form(request)
    by, comment = actor(request, fields), fields.get("comment", "")[:MAX_TEXT]
    store = request.app[INCIDENT_STORE]
    move = store.acknowledge if request.match_info["action"] == "acknowledge" else store.resolve
    try:
        await move(incident.id, by=by, comment=comment)
    except IllegalTransition as err:
        fail(409, "bad_data", str(err))
    see_other(request, f"/incidents/{incident.id}")


async def comment(request: web.Request) -> web.Response:
    """POST /incidents/{id}/comment: a line on the timeline."""
    incident = await _incident(request)
    fields = await form(request)
    by, text = actor(request, fields), fields.get("comment", "").strip()[:MAX_TEXT]
    if not text:
        fail(400, "bad_data", "the comment is empty")
    await request.app[INCIDENT_STORE].add_event(incident.id, "commented", by=by, detail=text)
    see_other(request, f"/incidents/{incident.id}")
