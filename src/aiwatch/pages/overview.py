"""The overview page: targets by feature with their state, open incidents, failed notices."""

import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from aiohttp import web

from aiwatch.app.keys import INCIDENT_STORE, PROBE_SCHEDULER, STATE, TARGET_STATES
from aiwatch.incidents.records import Query
from aiwatch.notify import outbox
from aiwatch.pages.view import page
from aiwatch.probes.result import ProbeResult

NO_FEATURE = "(no feature)"


@dataclass(frozen=True)
class TargetRow:
    """A target on the overview: its state and last probe."""

    name: str
    kind: str
    state: str
    """``up``, ``degraded``, ``down``, or ``unknown`` before its first probe."""
    reason: str
    """Why: the failed probe's error, the missed objective, or how it passed."""
    last: ProbeResult | None


def target_rows(app: web.Application) -> dict[str, list[TargetRow]]:
    """Every configured target, grouped by feature (features in name order)."""
    entries = app[PROBE_SCHEDULER].entries
    states = app[TARGET_STATES]
    groups: dict[str, list[TargetRow]] = defaultdict(list)
    for target in app[STATE].current.targets:
        entry = entries.get(target.name)
        last = entry.last if entry is not None else None
        now = states.state(target.name)
        row = TargetRow(target.name, target.kind, now.state, now.reason, last)
        groups[target.feature or NO_FEATURE].append(row)
    return dict(sorted(groups.items()))


async def overview_page(request: web.Request) -> web.Response:
    """GET /: targets by feature, firing and acknowledged incidents, notification failures."""
    store = request.app[INCIDENT_STORE]
    open_incidents = await store.find(Query(states=("firing", "acknowledged"), limit=100))
    try:
        failures = await store.read(lambda conn: outbox.recent_failures(conn, limit=10))
    except sqlite3.OperationalError:  # no outbox: a daemon built without notifications
        failures = []
    groups = target_rows(request.app)
    counts: dict[str, int] = defaultdict(int)
    for rows in groups.values():
        for row in rows:
            counts[row.state] += 1
    context = {
        "groups": groups,
        "counts": dict(counts),
        "incidents": open_incidents,
        "failures": failures,
    }
    return page(request, "overview.html", context)
