"""The status feature: uptime rollups as probes run, ``/status`` and the badges."""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from aiwatch.app.keys import DATABASE, INCIDENT_STORE, STATE, TARGET_STATES, UPTIME, Deps
from aiwatch.config.model import StatusPage, Target
from aiwatch.incidents.records import Query
from aiwatch.status import badges
from aiwatch.status.page import features, shown_targets, worst
from aiwatch.status.rollups import FLUSH_SECONDS, MIGRATIONS, Rollups, stored
from aiwatch.status.uptime import DAY, DAYS, WINDOWS, percent, summed, uptime
from aiwatch.web.envelope import fail

if TYPE_CHECKING:
    import jinja2

log = logging.getLogger("aiwatch.status")


@functools.cache
def _templates() -> "jinja2.Environment":
    """The status page's templates, made with the first page: a daemon nobody browses never
    loads Jinja2."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aiwatch.status", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["percent"] = percent
    return env


_INCIDENTS = 500
"""The newest open, and the newest resolved, incidents the page looks through."""


def _page(request: web.Request) -> StatusPage:
    page = request.app[STATE].current.web.status_page
    if not page.enabled:
        fail(404, "not_found", "the status page is off (web.status_page.enabled)")
    return page


def _shown(request: web.Request, page: StatusPage) -> list[Target]:
    return shown_targets(page, request.app[STATE].current.targets)


async def _counts(request: web.Request, names: list[str]) -> Any:
    rollups = request.app[UPTIME]
    since = (int(rollups.clock.now()) // DAY - DAYS) * DAY
    rows = await request.app[DATABASE].read(lambda conn: stored(conn, names, since=since))
    return rollups.merged(rows)


async def handle_status(request: web.Request) -> web.Response:
    """GET /status: per feature and target, state, uptime, the 90-day bar and incidents."""
    page = _page(request)
    targets = _shown(request, page)
    counts = await _counts(request, [t.name for t in targets])
    store = request.app[INCIDENT_STORE]
    opened = await store.find(Query(states=("firing", "acknowledged"), limit=_INCIDENTS))
    incidents = opened + await store.find(Query(states=("resolved",), limit=_INCIDENTS))
    states = request.app[TARGET_STATES]

    def state(name: str) -> tuple[str, str]:
        current = states.state(name)
        return current.state, current.reason

    now = request.app[UPTIME].clock.now()
    sections = features(
        targets, state=state, counts=counts, incidents=incidents, now=now, public=page.public
    )
    html = (
        _templates()
        .get_template("status.html")
        .render(
            title=page.title,
            overall=worst(f.total.state for f in sections),
            incidents_open=any(f.open for f in sections),
            features=sections,
            updated=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)),
        )
    )
    return web.Response(text=html, content_type="text/html", headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-cache"}
_SVG = "image/svg+xml"
_BADGE_CACHE = {"Cache-Control": "max-age=60"}


def _badge_target(request: web.Request) -> Target:
    page = _page(request)
    name = request.match_info["target"]
    target = next((t for t in _shown(request, page) if t.name == name), None)
    if target is None:
        fail(404, "not_found", f"no target named {name!r} on the status page")
    return target


async def handle_status_badge(request: web.Request) -> web.Response:
    """GET /badge/{target}/status.svg: the target's state now."""
    target = _badge_target(request)
    state = request.app[TARGET_STATES].state(target.name).state
    svg = badges.status_badge(target.name, state)
    return web.Response(text=svg, content_type=_SVG, headers=_BADGE_CACHE)


async def handle_uptime_badge(request: web.Request) -> web.Response:
    """GET /badge/{target}/uptime.svg[?window=30d]: uptime over the window."""
    target = _badge_target(request)
    window = request.query.get("window", "30d")
    if window not in dict(WINDOWS):
        fail(400, "bad_data", f"window must be one of {', '.join(n for n, _ in WINDOWS)}")
    counts = await _counts(request, [target.name])
    now = request.app[UPTIME].clock.now()
    value = uptime(summed(counts, [target.name]), now=now).windows[window]
    svg = badges.uptime_badge(target.name, window, value, percent(value))
    return web.Response(text=svg, content_type=_SVG, headers=_BADGE_CACHE)


async def flush(app: web.Application) -> None:
    """Write the counts not written yet in one transaction; on failure keep them for later."""
    rollups = app[UPTIME]
    taken = rollups.take()
    if not taken:
        return
    try:
        await app[DATABASE].write(lambda conn: rollups.write(conn, taken))
    except Exception:
        rollups.restore(taken)
        log.exception("Cannot write the uptime rollups; keeping them for the next try")


async def _flusher(app: web.Application) -> None:
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        await flush(app)


def setup(app: web.Application, deps: Deps) -> None:
    """Add the rollups, their table and routes; set up before the probes, so that at
    shutdown the last counts are written after the last probe ended."""
    rollups = Rollups(degraded=lambda name: app[TARGET_STATES].last_state(name) == "degraded")
    app[UPTIME] = rollups
    deps.database.add_migrations(MIGRATIONS)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # Listening from start-up on, after the target states (the probes' setup added
        # them), so each count knows whether this result left its target degraded.
        deps.probe_listeners.append(rollups)
        task = asyncio.get_running_loop().create_task(_flusher(app), name="aiwatch-uptime")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        deps.probe_listeners.remove(rollups)
        await flush(app)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/status", handle_status)
    app.router.add_get("/badge/{target}/status.svg", handle_status_badge)
    app.router.add_get("/badge/{target}/uptime.svg", handle_uptime_badge)
