"""The experiments feature: data collection in the daemon, the experiments API and metrics."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

from aiohttp import web

from aiwatch.app.keys import STATE, TRACKER, Deps
from aiwatch.config import Config
from aiwatch.experiments.lifecycle import ACTIONS, Action, IllegalTransition, collects
from aiwatch.experiments.metrics import ExperimentCollector
from aiwatch.experiments.observations import Invalid, parse
from aiwatch.experiments.promql import poll
from aiwatch.experiments.storage import MIGRATIONS
from aiwatch.experiments.tracker import Live, Tracker
from aiwatch.web.envelope import fail, ok, read_json


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(live: Live) -> dict[str, Any]:
    """The experiment document: the analysis with the state, control and start time."""
    analysis = live.result().to_json()
    head = {
        "name": analysis.pop("name"),
        "state": live.state,
        "hypothesis": live.config.hypothesis,
        "control": live.config.control,
        "started_at": _iso(live.started_at),
        "min_samples": live.config.min_samples,
    }
    return head | analysis


def _live(request: web.Request) -> Live:
    name = request.match_info["name"]
    live = request.app[TRACKER].live.get(name)
    if live is None:
        fail(404, "not_found", f"no configured experiment named {name!r}")
    return live


async def handle_list(request: web.Request) -> web.Response:
    """GET /api/v1/experiments: every configured experiment with its results."""
    return ok([describe(live) for live in request.app[TRACKER].live.values()])


async def handle_get(request: web.Request) -> web.Response:
    """GET /api/v1/experiments/{name}."""
    return ok(describe(_live(request)))


async def handle_observations(request: web.Request) -> web.Response:
    """POST /api/v1/experiments/{name}/observations: validate all, then persist all."""
    live = _live(request)
    body = await read_json(request)
    if not collects(live.state):
        fail(
            409,
            "bad_data",
            f"experiment {live.config.name!r} is {live.state}; "
            "observations are accepted only while it is running",
        )
    try:
        arms = parse(live.config, body)
        await request.app[TRACKER].observe(live.config.name, arms)
    except Invalid as err:
        fail(400, "bad_data", str(err))
    return ok({"accepted": len(body), "arms": len(arms)})


async def handle_action(request: web.Request) -> web.Response:
    """POST /api/v1/experiments/{name}/{start,pause,stop}: a lifecycle move, 409 if illegal."""
    live = _live(request)
    action = cast(Action, request.match_info["action"])
    try:
        live = await request.app[TRACKER].act(live.config.name, action)
    except IllegalTransition as err:
        fail(409, "bad_data", str(err))
    return ok(describe(live))


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _lifecycle(app: web.Application, deps: Deps) -> AsyncIterator[None]:
    tracker = app[TRACKER]
    state = app[STATE]
    await tracker.update(state.current.experiments)
    deps.probe_listeners.append(tracker.on_probe)
    flusher = asyncio.create_task(tracker.run_flusher(), name="aiwatch-experiments-flush")
    poller = asyncio.create_task(
        poll(tracker, config=lambda: state.current), name="aiwatch-experiments-promql"
    )
    yield
    deps.probe_listeners.remove(tracker.on_probe)
    await _stop(poller)
    await _stop(flusher)
    await tracker.flush()


def setup(app: web.Application, deps: Deps) -> None:
    """Add experiments: tables, tracker, probe listener, metrics, reload hook and routes.

    The tables are created by the shared database's migrations when it opens at start-up.
    """
    deps.database.add_migrations(MIGRATIONS)
    state = deps.state
    tracker = Tracker(store=deps.database)
    app[TRACKER] = tracker
    deps.registry.register(ExperimentCollector(lambda: list(tracker.live.values())))

    async def reload(config: Config) -> None:
        await tracker.update(config.experiments)

    def lifecycle(app: web.Application) -> AsyncIterator[None]:
        return _lifecycle(app, deps)

    state.on_reload(reload)
    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/api/v1/experiments", handle_list)
    app.router.add_get("/api/v1/experiments/{name}", handle_get)
    app.router.add_post("/api/v1/experiments/{name}/observations", handle_observations)
    app.router.add_post(
        "/api/v1/experiments/{name}/{action:" + "|".join(ACTIONS) + "}", handle_action
    )
