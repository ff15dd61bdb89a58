"""Every typed key of the daemon's application, and the shared resources handed to features.

``build.py`` creates the shared resources (``Deps``) before any feature and stores each
under its key, so request handlers read them from ``request.app``; a feature's own objects
(its scheduler, store, manager…) are stored under the feature's key by its ``setup``.
Feature types are imported for type checking only: reading this module loads no feature.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Histogram

    from aiwatch.events.hub import Hub
    from aiwatch.experiments.tracker import Tracker
    from aiwatch.incidents.sink import IncidentSink
    from aiwatch.incidents.store import IncidentStore
    from aiwatch.notify.forward import AlertmanagerForwarder
    from aiwatch.notify.notifier import Notifier
    from aiwatch.pages.state import Pages
    from aiwatch.probes.on_demand import OnDemand
    from aiwatch.probes.result import ProbeListener
    from aiwatch.probes.scheduler import Scheduler
    from aiwatch.probes.series import ProbeSeries
    from aiwatch.probes.slo import TargetStates
    from aiwatch.promql.runner import QueryRunner
    from aiwatch.promql.storage import Labels, MemoryStorage
    from aiwatch.rules.events import AlertSink
    from aiwatch.rules.manager import RuleManager
    from aiwatch.runtime import ConfigState
    from aiwatch.status.rollups import Rollups
    from aiwatch.storage.sqlite import Database

Renderer = Callable[[], Iterable[bytes]]
"""Returns a feature's part of ``/metrics`` as pieces in page order (rendered lazily, if it
likes: ``/metrics`` lets the event loop run between pieces)."""

ReadinessCheck = Callable[[], str | None]
"""Why aiwatch cannot do its job now (``/-/ready`` answers 503 with it), or None."""

SampleBatches = Callable[[], Iterable[Iterable[tuple[str, "Labels", float]]]]
"""Returns a feature's current samples for the self-scrape, in batches that stay whole."""


@dataclass(frozen=True)
class Deps:
    """What every feature may use: created by ``build.py`` before any ``setup`` runs."""

    state: ConfigState
    registry: CollectorRegistry
    renderers: list[Renderer]
    """Parts of ``/metrics`` after the registry's, in the order features add them."""
    sample_sources: list[SampleBatches]
    """What the self-scrape stores besides the registry's samples (the probe series)."""
    samples: MemoryStorage
    """The local sample store rules evaluate against; the self-scrape appends to it."""
    database: Database
    """The SQLite file; a feature registers its migrations in ``setup``, before it opens."""
    alert_sinks: list[AlertSink]
    """Who hears the rules' alert events (the incident store, Alertmanager forwarding)."""
    probe_listeners: list[ProbeListener]
    """Who hears each scheduled probe's result (running experiments)."""
    ready: list[bool]
    """``[True]`` once the daemon serves, ``[False]`` again when it shuts down."""
    readiness: list[ReadinessCheck]
    """Checks ``/-/ready`` runs besides ``ready`` (the incident store's write check)."""


# The shared resources (from ``Deps``).
STATE: web.AppKey[ConfigState] = web.AppKey("state")
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry")
RENDERERS: web.AppKey[list[Renderer]] = web.AppKey("renderers")
READY: web.AppKey[list[bool]] = web.AppKey("ready")
READINESS: web.AppKey[list[ReadinessCheck]] = web.AppKey("readiness")
"""Checks ``/-/ready`` runs: each returns why aiwatch cannot do its job now, or None."""
RULE_STORAGE: web.AppKey[MemoryStorage] = web.AppKey("rule_storage")
ALERT_SINKS: web.AppKey[list[AlertSink]] = web.AppKey("alert_sinks")
DATABASE: web.AppKey[Database] = web.AppKey("database")

# Probes.
PROBE_SERIES: web.AppKey[ProbeSeries] = web.AppKey("probe_series")
"""The probe metrics store; ``iter_samples()`` lists its samples without rendering text."""
PROBE_SCHEDULER: web.AppKey[Scheduler] = web.AppKey("probe_scheduler")
ON_DEMAND: web.AppKey[OnDemand] = web.AppKey("probe_on_demand")
TARGET_STATES: web.AppKey[TargetStates] = web.AppKey("target_states")
"""Each target's up / degraded / down state (``state(name)``), from probes and ``slo:``."""

# Rules.
RULE_MANAGER: web.AppKey[RuleManager] = web.AppKey("rule_manager")
"""The running rule manager (set while the application runs)."""
RULE_EVAL_DURATIONS: web.AppKey[Histogram] = web.AppKey("rule_eval_durations")
QUERY_RUNNER: web.AppKey[QueryRunner] = web.AppKey("query_runner")
"""The worker threads that evaluate queries of the API and of rules (while the app runs)."""
FRESH_SAMPLES: web.AppKey[asyncio.Event] = web.AppKey("fresh_samples")
"""Set once every target has been probed since start-up and the results stored (the
self-scrape sets it); local rules hold their first evaluation until then."""

# Incidents.
INCIDENT_STORE: web.AppKey[IncidentStore] = web.AppKey("incident_store")
"""The incident store; other features may add listeners and hooks in their setup."""
INCIDENT_SINK: web.AppKey[IncidentSink] = web.AppKey("incident_sink")
"""The rules engine's sink into the store (one of the ``alert_sinks``)."""
STORAGE_PROBLEM: web.AppKey[list[str | None]] = web.AppKey("storage_problem")
"""Why the incident store cannot be written now (a failed test write), or ``[None]``."""

# Alertmanager API v2.
ALERTMANAGER_API_STARTED: web.AppKey[float] = web.AppKey("alertmanager_api_started")
"""When the Alertmanager API was set up (``uptime`` of ``/api/v2/status``)."""

# Notifications.
NOTIFIER: web.AppKey[Notifier] = web.AppKey("notifier")
ALERTMANAGER_FORWARDER: web.AppKey[AlertmanagerForwarder] = web.AppKey("alertmanager_forwarder")
"""An ``AlertSink``: the rules engine's events to every ``alertmanager.forward_to``."""

# Experiments.
TRACKER: web.AppKey[Tracker] = web.AppKey("experiment_tracker")

# Pages.
PAGES: web.AppKey[Pages] = web.AppKey("pages")
"""The pages' CSRF secret and each target's last probes."""
# Live events.
EVENT_HUB: web.AppKey[Hub] = web.AppKey("event_hub")
"""Numbers and fans out the events of ``/api/v1/events``; ``publish(type, data)``."""

# Status page.
UPTIME: web.AppKey[Rollups] = web.AppKey("uptime_rollups")
"""Probe counts per target and hour, not yet written (``merged`` adds the stored rows)."""
