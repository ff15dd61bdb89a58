"""The probes feature: the scheduler's lifecycle, its reloads, ``/probe`` and the targets API."""

import difflib
from collections.abc import AsyncIterator
from typing import NoReturn

from aiohttp import web

from aiwatch.app.keys import ON_DEMAND, PROBE_SCHEDULER, PROBE_SERIES, STATE, TARGET_STATES, Deps
from aiwatch.config import Config
from aiwatch.config.model import Target
from aiwatch.probes.exposition import pieces, render
from aiwatch.probes.health import HealthLog
from aiwatch.probes.on_demand import OnDemand
from aiwatch.probes.report import debug_text, target_entry
from aiwatch.probes.scheduler import Scheduler, shard_of
from aiwatch.probes.series import ProbeSeries
from aiwatch.probes.slo import TargetStates
from aiwatch.web.app import EXPOSITION
from aiwatch.web.envelope import fail, ok

_LISTED = 20
"""At most this many configured names are listed in an error (the rest: /api/v1/targets)."""


def _configured(config: Config, name: str) -> Target:
    found = next((t for t in config.targets if t.name == name), None)
    if found is None:
        _not_configured(name, [t.name for t in config.targets])
    return found


def _not_configured(name: str, names: list[str]) -> NoReturn:
    if "://" in name:
        # blackbox_exporter's habit: ?target=URL. The URL is not echoed: it may hold a secret.
        fail(
            400,
            "bad_data",
            "target is a URL, but /probe runs only targets of the config file, by name "
            f"(targets[].name); {_known(names)}",
        )
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    fail(404, "not_found", f"no configured target named {name!r}{hint}; {_known(names)}")


def _known(names: list[str]) -> str:
    if not names:
        return "the config has no targets"
    shown = ", ".join(names[:_LISTED])
    more = f" and {len(names) - _LISTED} more (GET /api/v1/targets)" if len(names) > _LISTED else ""
    return f"configured targets: {shown}{more}"


def _param(request: web.Request, name: str) -> str:
    """A query parameter given at most once: which target, or whether to debug, is never guessed."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        fail(400, "bad_data", f"the {name!r} parameter is given {len(values)} times; give it once")
    return values[0] if values else ""


_DEBUG = {"true": True, "1": True, "false": False, "0": False, "": False}


async def handle_probe(request: web.Request) -> web.Response:
    """GET /probe?target=NAME[&debug=true]: probe a configured target now, like blackbox's."""
    name = _param(request, "target")
    debug = _DEBUG.get(_param(request, "debug").lower())
    if debug is None:
        fail(400, "bad_data", "the 'debug' parameter must be true or false")
    if not name:
        fail(400, "bad_data", "the 'target' parameter (a configured target's name) is required")
    target = _configured(request.app[STATE].current, name)
    result = await request.app[ON_DEMAND].probe(target)
    # This probe's own metrics, as blackbox_exporter answers: the scheduled series are not
    # touched, so on-demand probes do not disturb the counters Prometheus scrapes.
    store = ProbeSeries()
    store.ensure(target)
    store.observe(result)
    exposition = render(store)
    if debug:
        return web.Response(text=debug_text(target, result, exposition))
    return web.Response(body=exposition, headers={"Content-Type": EXPOSITION})


async def handle_targets(request: web.Request) -> web.Response:
    """GET /api/v1/targets: every configured target, its health and schedule."""
    scheduler = request.app[PROBE_SCHEDULER]
    states = request.app[TARGET_STATES]
    index, count = scheduler.shard
    out = []
    for target in request.app[STATE].current.targets:
        entry = scheduler.entries.get(target.name)
        series = request.app[PROBE_SERIES].targets.get(target.name)
        state = states.state(target.name)
        doc = target_entry(
            target,
            labels=dict(series.labels) if series else {},
            shard=shard_of(target.name, count),
            member=scheduler.in_shard(target.name),
            last=entry.last if entry else None,
            next_due=scheduler.next_due(target.name),
            probes=entry.runs if entry else 0,
            skipped=series.skipped if series else 0,
            paused=entry.paused if entry else None,
        )
        doc.update(
            state=state.state,
            state_reason=state.reason,
            objectives=[m.to_json() for m in state.objectives],
        )
        out.append(doc)
    return ok({"shard": {"index": index, "count": count}, "targets": out})


def setup(app: web.Application, deps: Deps) -> None:
    """Add the probes: scheduler, series on ``/metrics`` and in the self-scrape, routes."""
    state = deps.state
    series = ProbeSeries()
    scheduler = Scheduler(series=series, shard=state.options.shard)
    # The scheduler tells the daemon's probe listeners: the health log below, and running
    # experiments (they add theirs at start-up).
    scheduler.listeners = deps.probe_listeners
    app[PROBE_SERIES] = series
    app[PROBE_SCHEDULER] = scheduler
    app[ON_DEMAND] = OnDemand()
    deps.renderers.append(lambda: pieces(series))
    deps.sample_sources.append(series.sample_batches)
    # First: listeners after it (the uptime rollups) read the state this result made.
    states = TargetStates()
    states.configure(state.current.targets)
    app[TARGET_STATES] = states
    scheduler.listeners.append(states)
    health = HealthLog()
    scheduler.listeners.append(health)

    async def reload(config: Config) -> None:
        states.configure(config.targets)
        await scheduler.update(config.targets, budget=config.global_.budget)
        health.forget({t.name for t in config.targets})

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        current = app[STATE].current
        await scheduler.update(current.targets, budget=current.global_.budget)
        scheduler.start()
        yield
        await scheduler.stop()
        await app[ON_DEMAND].close()

    state.on_reload(reload)
    app.cleanup_ctx.append(lifecycle)
    # No HEAD twin: a HEAD would run a probe, which against a paid endpoint costs money,
    # only to throw the answer away. It gets the 405 envelope with ``Allow: GET``.
    app.router.add_get("/probe", handle_probe, allow_head=False)
    app.router.add_get("/api/v1/targets", handle_targets)
