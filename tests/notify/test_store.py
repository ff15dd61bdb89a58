"""Notifications fed by the real incident store: its hook, its timeline, its silences."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aiwatch.config.model import Route, Secret
from aiwatch.incidents.lifecycle import Alert
from aiwatch.incidents.silences import Silence
from aiwatch.incidents.store import IncidentStore
from aiwatch.incidents.timeline import notified as note
from aiwatch.matchers import parse_matcher
from aiwatch.notify.notifier import Notifier
from aiwatch.notify.web import attach

from .conftest import Clock, Receiver
from .test_notifier import _config

LABELS = {"alertname": "EndpointDown", "severity": "critical", "target": "captions"}


def _alert(state: str, at: float, **labels: str) -> Alert:
    merged = {**LABELS, **labels}
    return Alert(
        fingerprint="|".join(f"{k}={v}" for k, v in sorted(merged.items())),
        state=state,  # type: ignore[arg-type]
        labels=merged,
        annotations={"summary": "captions is down"},
        value=0.0,
        at=at,
        fired_at=at if state == "firing" else None,
        resolved_at=at if state == "resolved" else None,
        generator_url="http://prometheus.test/graph",
    )


@pytest.fixture
async def wired(
    tmp_path: Path, clock: Clock, receiver: Receiver
) -> AsyncIterator[tuple[IncidentStore, Notifier]]:
    """An open incident store with a notifier attached as the daemon attaches it."""
    store = IncidentStore(tmp_path / "aiwatch.db", clock=clock)
    routes = (
        Route(
            name="oncall",
            apprise=(Secret(receiver.url("oncall")),),
            events=("firing", "acknowledged", "resolved"),
            continue_=True,
        ),
        Route(name="audit", apprise=(Secret(receiver.url("audit")),), events=("silenced",)),
    )
    config = _config(*routes)
    notifier = Notifier(store=store, config=lambda: config, timeline=note, clock=clock)
    attach(store, notifier)
    await store.open()
    yield store, notifier
    await store.close()


async def test_lifecycle_through_the_store_reaches_the_receiver_and_the_timeline(
    wired: tuple[IncidentStore, Notifier], clock: Clock, receiver: Receiver
) -> None:
    """Fired, acknowledged, resolved: each is delivered and noted on the timeline."""
    store, notifier = wired
    (incident,) = await store.observe([_alert("firing", clock())])
    await notifier.step()
    clock.advance(60)
    await store.acknowledge(incident.id, by="alice", comment="looking")
    await notifier.step()
    clock.advance(60)
    await store.observe([_alert("resolved", clock())])
    await notifier.step()

    assert [(p["path"], p["title"]) for p in receiver.received] == [
        ("/oncall", f"[FIRING] EndpointDown (critical) #{incident.id}"),
        ("/oncall", f"[ACKNOWLEDGED] EndpointDown (critical) #{incident.id}"),
        ("/oncall", f"[RESOLVED] EndpointDown (critical) #{incident.id}"),
    ]
    assert "Acknowledged by: alice" in receiver.received[1]["message"]
    assert "Resolved after: 2m 0s by rule" in receiver.received[2]["message"]
    timeline = (await store.get(incident.id)).timeline
    assert [(e.event, e.detail) for e in timeline if e.event == "notified"] == [
        ("notified", "route=oncall kind=firing attempt=1 result=sent"),
        ("notified", "route=oncall kind=acknowledged attempt=1 result=sent"),
        ("notified", "route=oncall kind=resolved attempt=1 result=sent"),
    ]


async def test_silenced_incident_only_reaches_a_route_asking_for_silenced(
    wired: tuple[IncidentStore, Notifier], clock: Clock, receiver: Receiver
) -> None:
    """An incident opened under a silence is told to nobody but the audit route."""
    store, notifier = wired
    await store.add_silence(
        Silence(
            matchers=(parse_matcher('target="captions"'),),
            starts_at=clock() - 1,
            ends_at=clock() + 3600,
            created_by="bob",
            comment="maintenance",
        )
    )
    (incident,) = await store.observe([_alert("firing", clock())])
    assert incident.silenced
    await notifier.step()
    await store.observe([_alert("resolved", clock() + 30)])
    await notifier.step()
    assert [(p["path"], p["title"]) for p in receiver.received] == [
        ("/audit", f"[SILENCED] EndpointDown (critical) #{incident.id}")
    ]
