"""The notifications feature: the outbox on the incident store, and forwarding."""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aiwatch import metrics
from aiwatch.app.keys import ALERTMANAGER_FORWARDER, INCIDENT_STORE, NOTIFIER, STATE, Deps
from aiwatch.config.model import Config
from aiwatch.incidents.store import IncidentStore
from aiwatch.incidents.timeline import notified
from aiwatch.notify import outbox
from aiwatch.notify.deliver import warm_up
from aiwatch.notify.forward import AlertmanagerForwarder
from aiwatch.notify.notifier import Notifier, Outcome
from aiwatch.storage.migrations import atomic

log = logging.getLogger("aiwatch.notify")

RESULTS = ("sent", "failed")
"""The values of ``result`` on ``aiwatch_notifications_total``."""


class NotifyMetrics:
    """The notification metrics in the application's registry."""

    def __init__(self, registry: CollectorRegistry, notifier: Notifier) -> None:
        self.deliveries = Counter(
            metrics.NOTIFICATIONS.name,
            metrics.NOTIFICATIONS.help,
            ["route", "result"],
            registry=registry,
        )
        queue = Gauge(
            metrics.NOTIFICATION_QUEUE.name, metrics.NOTIFICATION_QUEUE.help, registry=registry
        )
        queue.set_function(lambda: float(notifier.backlog))
        self.latency = Histogram(
            metrics.NOTIFICATION_LATENCY.name,
            metrics.NOTIFICATION_LATENCY.help,
            buckets=metrics.NOTIFY_LATENCY_BUCKETS,
            registry=registry,
        )
        self._routes: set[str] = set()

    def track_routes(self, config: Config) -> None:
        """Start every configured route's counters at 0 and drop those of removed routes.

        Prometheus cannot see a counter's first increment if the series appears with it
        (``increase()`` needs a sample before), so a route's first failure would be missed.
        """
        routes = {route.name for route in config.notifications.routes}
        for route in sorted(self._routes - routes):
            for result in RESULTS:
                self.deliveries.remove(route, result)
        for route in sorted(routes):
            for result in RESULTS:
                self.deliveries.labels(route=route, result=result)
        self._routes = routes

    def observe(self, outcome: Outcome) -> None:
        """Count one attempt; a success also observes its latency."""
        if outcome.dropped:
            return
        result = "sent" if outcome.error is None else "failed"
        self.deliveries.labels(route=outcome.row.route, result=result).inc()
        if outcome.error is None:
            self.latency.observe(max(outcome.sent_at - outcome.row.event_at, 0.0))


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    # The store is open by now (its component starts first) with the outbox migrated.
    if app[STATE].current.notifications.routes:
        # Before ready: the first alert should not wait for Apprise to load its plugins.
        await asyncio.to_thread(warm_up)
    sender = asyncio.create_task(app[NOTIFIER].run(), name="aiwatch-notify")
    session = aiohttp.ClientSession()
    forwarder = asyncio.create_task(
        app[ALERTMANAGER_FORWARDER].run(session), name="aiwatch-alertmanager"
    )
    yield
    # Undelivered rows stay in the outbox; the next start sends them.
    await _stop(sender)
    await _stop(forwarder)
    await session.close()


def attach(store: IncidentStore, notifier: Notifier) -> None:
    """Feed ``notifier`` from ``store``: its outbox table, a hook, and a wake-up listener."""
    store.add_migrations(outbox.MIGRATIONS)

    def hook(conn: sqlite3.Connection, incident: dict[str, Any], event: str) -> None:
        # In the incident change's own transaction: a committed change has its rows.
        # A failure here must not undo the incident, so it only rolls back our savepoint.
        try:
            with atomic(conn):
                notifier.record(conn, incident, event)
        except Exception:
            log.exception("Cannot queue notifications", extra={"id": incident.get("id")})

    async def wake(incident: dict[str, Any], event: str) -> None:
        del incident, event
        notifier.wake()

    store.add_hook(hook)
    store.add_listener(wake)


def setup(app: web.Application, deps: Deps) -> None:
    """Add notifications on the incident store (set up before) and Alertmanager forwarding."""
    state = deps.state
    store = app[INCIDENT_STORE]
    notifier = Notifier(store=store, config=lambda: state.current, timeline=notified)
    notify_metrics = NotifyMetrics(deps.registry, notifier)
    notify_metrics.track_routes(state.current)
    notifier.observe = notify_metrics.observe

    async def reload(config: Config) -> None:
        notify_metrics.track_routes(config)

    state.on_reload(reload)
    attach(store, notifier)
    app[NOTIFIER] = notifier
    forwarder = AlertmanagerForwarder(config=lambda: state.current)
    app[ALERTMANAGER_FORWARDER] = forwarder
    deps.alert_sinks.append(forwarder)
    app.cleanup_ctx.append(_lifecycle)
