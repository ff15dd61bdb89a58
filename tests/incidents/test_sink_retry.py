"""The rules' sink into the incident store: failed writes are retried, the store reconciled."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aiwatch.incidents.lifecycle import Alert
from aiwatch.incidents.records import Query
from aiwatch.incidents.sink import IncidentSink
from aiwatch.incidents.store import IncidentStore
from aiwatch.rules.events import AlertEvent, EventState


def event(fp: str, state: EventState, *, at: float, changed: bool = True) -> AlertEvent:
    """One rule alert event."""
    return AlertEvent(
        group="g",
        rule="Down",
        state=state,
        labels={"alertname": "Down", "target": fp},
        annotations={},
        value=0.0,
        active_at=10.0,
        fired_at=10.0,
        resolved_at=at if state == "resolved" else None,
        generator_url="",
        fingerprint=fp,
        evaluated_at=at,
        changed=changed,
    )


class DiskFull:
    """A store hook that fails every change like a full disk while ``full`` is set."""

    def __init__(self) -> None:
        self.full = False

    def __call__(self, conn: sqlite3.Connection, incident: dict[str, Any], event: str) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IncidentStore]:
    """An open store on a fresh file."""
    s = IncidentStore(tmp_path / "aiwatch.db", clock=lambda: 50.0)
    await s.open()
    yield s
    await s.close()


async def states(store: IncidentStore) -> dict[str, str]:
    """Incident state by fingerprint (newest incident of each)."""
    found = await store.find(Query())
    return {i.fingerprint: i.state for i in reversed(found)}


async def test_a_resolve_the_store_could_not_write_is_retried_until_applied(
    store: IncidentStore,
) -> None:
    """While writes fail the resolve waits (in order, not dropped) and the store reports the
    failure; once writes succeed the incident resolves without any new event."""
    disk = DiskFull()
    store.add_hook(disk)
    sink = IncidentSink(store)
    await sink.alerts_changed([event("a", "firing", at=10.0)])
    disk.full = True
    await sink.alerts_changed([event("a", "resolved", at=20.0)])
    await sink.alerts_changed([event("b", "firing", at=30.0)])
    assert sink.pending == 2
    assert store.write_error == "database or disk is full"
    assert await states(store) == {"a": "firing"}
    disk.full = False
    for _ in range(100):
        if sink.pending == 0:
            break
        await asyncio.sleep(0.05)
    assert await states(store) == {"a": "resolved", "b": "firing"}
    assert store.write_error is None
    await sink.close()


async def test_reconcile_resolves_open_rule_incidents_whose_alert_stopped(
    store: IncidentStore,
) -> None:
    """An open incident of a rule alert that no longer fires resolves; one of a pushed
    alert is left alone; a firing alert without an incident opens one."""
    sink = IncidentSink(store)
    await sink.alerts_changed([event("rule", "firing", at=10.0)])
    pushed = Alert(
        fingerprint="pushed",
        state="firing",
        labels={"alertname": "Pushed"},
        annotations={},
        value=1.0,
        at=10.0,
        fired_at=10.0,
    )
    await store.observe([pushed])
    await sink.reconcile(lambda: [event("new", "firing", at=40.0, changed=False)])
    assert await states(store) == {"rule": "resolved", "pushed": "firing", "new": "firing"}
    (resolved,) = [i for i in await store.find(Query()) if i.fingerprint == "rule"]
    assert resolved.resolved_by == "rule"
