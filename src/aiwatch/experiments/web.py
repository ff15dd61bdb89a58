"""The experiments feature: data collection in the daemon, the experiments API and metrics."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from aiohttp import web

from aiwatch.app.keys import INCIDENT_STORE, STATE, TRACKER, Deps
from aiwatch.config import Config
from aiwatch.config.documents import check_experiment
from aiwatch.config.experiments import RELEASE_TYPES
from aiwatch.experiments.lifecycle import ACTIONS, Action, IllegalTransition, collects
from aiwatch.experiments.manage import AfterChange, deleter, handle_create, handle_patch, switcher
from aiwatch.experiments.metrics import ExperimentCollector
from aiwatch.experiments.observations import Invalid, parse
from aiwatch.experiments.onfail import FailureWatch
from aiwatch.experiments.prepromotion import SuiteRuns
from aiwatch.experiments.promql import poll
from aiwatch.experiments.storage import MIGRATIONS
from aiwatch.experiments.tracker import Tracker
from aiwatch.experiments.views import describe, live_of
from aiwatch.web.envelope import fail, ok, read_json

SUITE_RUNS = web.AppKey("experiment_suite_runs", SuiteRuns)


async def handle_list(request: web.Request) -> web.Response:
    """GET /api/v1/experiments: every configured experiment with its results."""
    return ok([describe(live) for live in request.app[TRACKER].live.values()])


async def handle_get(request: web.Request) -> web.Response:
    """GET /api/v1/experiments/{name}."""
    return ok(describe(live_of(request)))


def observer(after: AfterChange) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/v1/experiments/{name}/observations: validate all, then persist all; then
    ``after`` (a verdict that turns ``fail`` opens its ``on_fail`` incident at once)."""

    async def handle_observations(request: web.Request) -> web.Response:
        live = live_of(request)
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
            if live.switched_at is not None and any(v == live.config.control for v, _ in arms):
                fail(
                    409,
                    "bad_data",
                    f"experiment {live.config.name!r} was switched to green; "
                    f"{live.config.control}'s window ended at the switch",
                )
            await request.app[TRACKER].observe(live.config.name, arms)
        except Invalid as err:
            fail(400, "bad_data", str(err))
        await after()
        return ok({"accepted": len(body), "arms": len(arms)})

    return handle_observations


def actor(after: AfterChange) -> Callable[[web.Request], Awaitable[web.Response]]:
    """POST /api/v1/experiments/{name}/{start,pause,stop}: a lifecycle move, 409 if illegal;
    then ``after`` (an ``on_fail`` incident resolves at once when its experiment stops)."""

    async def handle_action(request: web.Request) -> web.Response:
        live = live_of(request)
        action = cast(Action, request.match_info["action"])
        try:
            live = await request.app[TRACKER].act(live.config.name, action)
        except IllegalTransition as err:
            fail(409, "bad_data", str(err))
        await after()
        return ok(describe(live))

    return handle_action


VERDICT_STATUS = 412
"""``?require=`` not met: the precondition the caller set (a verdict) does not hold."""


async def handle_verdict(request: web.Request) -> web.Response:
    """GET or POST /api/v1/experiments/{name}/verdict: a release controller's question.

    Always 200 with the verdict in the data (Argo Rollouts reads it with a JSON path);
    with ``?require=pass`` (or ``fail``) 200 only when the verdict is that, else 412
    (Flagger's webhooks read the status code).
    """
    live = live_of(request)
    if live.config.type not in RELEASE_TYPES:
        fail(
            400,
            "bad_data",
            f"experiment {live.config.name!r} is of type {live.config.type}; "
            "verdicts are given for canary and blue_green experiments",
        )
    require = request.query.get("require")
    if require not in (None, "pass", "fail"):
        fail(400, "bad_data", f"require must be pass or fail, not {require!r}")
    verdict = live.verdict()
    if live.config.validation_suite is not None:
        # Here, not at the top: the release verdict loads SciPy, needed only once asked for.
        from aiwatch.experiments.release import with_suite

        suite = request.app[SUITE_RUNS].results.get(live.config.name)
        verdict = with_suite(verdict, suite)
    doc = {"name": live.config.name, "type": live.config.type, "state": live.state}
    doc |= verdict.to_json()
    if require is not None and verdict.verdict != require:
        fail(
            VERDICT_STATUS,
            "bad_data",
            f"verdict is {verdict.verdict}, not {require}: {verdict.reason}",
        )
    return ok(doc)


async def handle_validate(request: web.Request) -> web.Response:
    """POST /api/v1/experiments/{name}/validate: run green's validation suite (admin).

    202 with the run started; 409 while one runs, 400 for an experiment with no suite.
    """
    live = live_of(request)
    if live.config.validation_suite is None:
        fail(400, "bad_data", f"experiment {live.config.name!r} names no validation suite")
    started = request.app[SUITE_RUNS].start(live.config, request.app[STATE].options.config_file)
    if started is None:
        fail(409, "bad_data", f"the validation suite of {live.config.name!r} is already running")
    return ok(started.to_json(), status=202)


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _lifecycle(
    app: web.Application, deps: Deps, watches: list[FailureWatch]
) -> AsyncIterator[None]:
    tracker = app[TRACKER]
    state = app[STATE]
    await tracker.update(state.current.experiments)
    await tracker.load_defined(lambda doc: check_experiment(doc, state.current)[0])
    deps.probe_listeners.append(tracker.on_probe)
    tasks = [
        asyncio.create_task(tracker.run_flusher(), name="aiwatch-experiments-flush"),
        asyncio.create_task(
            poll(tracker, config=lambda: state.current), name="aiwatch-experiments-promql"
        ),
    ]
    store = app.get(INCIDENT_STORE)
    if store is not None:
        watch = FailureWatch(store, lambda: list(tracker.live.values()), clock=tracker.clock)
        watches.append(watch)
        tasks.append(asyncio.create_task(watch.run(), name="aiwatch-experiments-on-fail"))
    yield
    await app[SUITE_RUNS].close()
    deps.probe_listeners.remove(tracker.on_probe)
    for task in reversed(tasks):
        await _stop(task)
    watches.clear()
    await tracker.flush()


def setup(app: web.Application, deps: Deps) -> None:
    """Add experiments: tables, tracker, probe listener, metrics, reload hook and routes.

    The tables are created by the shared database's migrations when it opens at start-up.
    """
    deps.database.add_migrations(MIGRATIONS)
    state = deps.state
    tracker = Tracker(store=deps.database)
    app[TRACKER] = tracker
    app[SUITE_RUNS] = SuiteRuns()
    deps.registry.register(ExperimentCollector(lambda: list(tracker.live.values())))

    async def reload(config: Config) -> None:
        await tracker.update(config.experiments)

    watches: list[FailureWatch] = []

    async def check_failures() -> None:
        for watch in watches:
            await watch.check()

    def lifecycle(app: web.Application) -> AsyncIterator[None]:
        return _lifecycle(app, deps, watches)

    state.on_reload(reload)
    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/api/v1/experiments", handle_list)
    app.router.add_post("/api/v1/experiments", handle_create)
    app.router.add_get("/api/v1/experiments/{name}", handle_get)
    app.router.add_patch("/api/v1/experiments/{name}", handle_patch)
    app.router.add_delete("/api/v1/experiments/{name}", deleter(check_failures))
    app.router.add_post("/api/v1/experiments/{name}/switch", switcher(check_failures))
    app.router.add_post("/api/v1/experiments/{name}/observations", observer(check_failures))
    app.router.add_post("/api/v1/experiments/{name}/validate", handle_validate)
    app.router.add_get("/api/v1/experiments/{name}/verdict", handle_verdict)
    app.router.add_post("/api/v1/experiments/{name}/verdict", handle_verdict)
    app.router.add_post(
        "/api/v1/experiments/{name}/{action:" + "|".join(ACTIONS) + "}", actor(check_failures)
    )
