"""The composition root: the shared resources, then each feature's ``setup``, in start-up order.

Features start in the order of ``COMPONENTS`` (aiohttp enters their start-up contexts in
that order and leaves them in reverse at shutdown); the constraints the order must keep are
``STARTS_BEFORE``, checked by ``make_app`` for any list of features it is given.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry, disable_created_metrics
from prometheus_client.process_collector import ProcessCollector

from aiwatch import selfscrape
from aiwatch.alertmanager_api import web as alertmanager_api_web
from aiwatch.app import openapi
from aiwatch.app.errors import StartupError
from aiwatch.app.keys import (
    ALERT_SINKS,
    DATABASE,
    READINESS,
    READY,
    REGISTRY,
    RENDERERS,
    RULE_STORAGE,
    STATE,
    Deps,
)
from aiwatch.events import web as events_web
from aiwatch.experiments import web as experiments_web
from aiwatch.incidents import web as incidents_web
from aiwatch.notify import web as notify_web
from aiwatch.pages import web as pages_web
from aiwatch.pages.errors import page_errors
from aiwatch.probes import web as probes_web
from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules import web as rules_web
from aiwatch.runtime import ConfigState
from aiwatch.status import web as status_web
from aiwatch.storage.sqlite import DB_FILE, Database, DatabaseError
from aiwatch.web.app import SelfCollector, add_routes, error_middleware
from aiwatch.web.auth import POLICIES, auth_middleware
from aiwatch.web.connections import connection_middleware

Setup = Callable[[web.Application, Deps], None]
"""A feature's ``setup(app, deps)``: its objects, routes, reload hooks and start-up context."""

COMPONENTS: tuple[Setup, ...] = (
    status_web.setup,
    probes_web.setup,
    selfscrape.setup,
    incidents_web.setup,
    rules_web.setup,
    notify_web.setup,
    alertmanager_api_web.setup,
    experiments_web.setup,
    events_web.setup,
    pages_web.setup,
)
"""Every feature of ``aiwatch run``, in start-up order."""

STARTS_BEFORE: tuple[tuple[Setup, Setup, str], ...] = (
    (
        status_web.setup,
        probes_web.setup,
        "the uptime counts are written for the last time after the last probe ended",
    ),
    (
        incidents_web.setup,
        events_web.setup,
        "the event stream listens to the incident store, which must exist and be open",
    ),
    (
        selfscrape.setup,
        rules_web.setup,
        "history restored from the snapshot is in the sample store when the rules start",
    ),
    (
        incidents_web.setup,
        rules_web.setup,
        "the incident store is open when the rules start (a restart resolves the incidents "
        "of alerts that did not come back) and until they have stopped",
    ),
    (
        incidents_web.setup,
        notify_web.setup,
        "notifications queue their outbox rows in the incident store's transactions",
    ),
)
"""Pairs ``(first, then, why)``: when both are present, ``first`` must come before ``then``."""


def check_order(components: Sequence[Setup]) -> None:
    """Raise ``ValueError`` if ``components`` break a ``STARTS_BEFORE`` constraint."""
    for first, then, why in STARTS_BEFORE:
        both = first in components and then in components
        if both and components.index(first) > components.index(then):
            msg = f"{first.__module__} must start before {then.__module__}: {why}"
            raise ValueError(msg)


def make_app(state: ConfigState, *, components: Iterable[Setup] = ()) -> web.Application:
    """The daemon's application: shared resources, core routes, then each feature's setup."""
    features = tuple(components)
    check_order(features)
    app = web.Application(
        middlewares=[connection_middleware, page_errors, error_middleware, auth_middleware],
        client_max_size=state.current.web.max_request_body_bytes,
    )
    if state.options.web_config_file:
        # Read it now, while it is the file the daemon just validated: if it breaks or
        # vanishes before the first request, that request still meets its users.
        POLICIES.get(state.options.web_config_file)
    deps = shared_resources(state)
    app[STATE] = deps.state
    app[REGISTRY] = deps.registry
    app[RENDERERS] = deps.renderers
    app[READY] = deps.ready
    app[READINESS] = deps.readiness
    app[RULE_STORAGE] = deps.samples
    app[ALERT_SINKS] = deps.alert_sinks
    app[DATABASE] = deps.database
    add_routes(app.router)
    app.router.add_get("/api/v1/openapi.json", openapi.handle_openapi)
    # First in, last out: the database is open before any feature starts and after all stop.
    app.cleanup_ctx.append(_database_lifecycle)
    for setup in features:
        setup(app, deps)
    return app


def shared_resources(state: ConfigState) -> Deps:
    """The resources features share; nothing is opened or started yet."""
    # `_created` series are OpenMetrics noise in the text format Prometheus scrapes here.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=True)
    registry.register(SelfCollector(state))
    ProcessCollector(registry=registry)
    return Deps(
        state=state,
        registry=registry,
        renderers=[],
        sample_sources=[],
        samples=MemoryStorage(),
        database=Database(Path(state.options.storage_path or "data/") / DB_FILE),
        alert_sinks=[],
        probe_listeners=[],
        ready=[False],
        readiness=[],
    )


async def _database_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Open the database if a feature keeps tables in it; close it after every feature."""
    database = app[DATABASE]
    if not database.migrations:
        yield
        return
    try:
        await asyncio.to_thread(database.open)
    except DatabaseError as err:
        raise StartupError(str(err)) from err
    yield
    await asyncio.to_thread(database.close)
