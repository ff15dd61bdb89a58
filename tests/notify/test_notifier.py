"""The notifier end to end through Apprise to a real local receiver, on a test clock."""

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from aiwatch.config.model import Config, Notifications, Route, Secret, Templates
from aiwatch.notify import outbox
from aiwatch.notify.notifier import Notifier, Outcome
from aiwatch.notify.web import NotifyMetrics
from aiwatch.storage.sqlite import Database

from .conftest import Clock, Receiver


def _config(*routes: Route, external_url: str = "http://aiwatch.test:9531") -> Config:
    config = Config(path="test.yml", notifications=Notifications(routes=routes))
    return replace(config, global_=replace(config.global_, external_url=external_url))


def _route(name: str, url: str, *matchers: str, **kw: Any) -> Route:
    return Route(name=name, matchers=matchers, apprise=(Secret(url),), **kw)


def _incident(iid: int, started: float, **kw: Any) -> dict[str, Any]:
    labels = {"alertname": "EndpointDown", "severity": "critical", "target": "captions"}
    labels.update(kw.pop("labels", {}))
    return {
        "id": iid,
        "state": "firing",
        "alertname": labels["alertname"],
        "severity": labels["severity"],
        "labels": labels,
        "annotations": {"summary": f"{labels['target']} is down"},
        "value": 0,
        "started_at": started,
        **kw,
    }


async def _notifier(
    store: Database, clock: Clock, config: Config, **kw: Any
) -> tuple[Notifier, list[tuple[int, str]]]:
    await store.write(outbox.migrate)
    notes: list[tuple[int, str]] = []

    def timeline(db: Any, iid: int, detail: str, at: float) -> None:
        del db, at
        notes.append((iid, detail))

    notifier = Notifier(store=store, config=lambda: config, timeline=timeline, clock=clock, **kw)
    return notifier, notes


async def test_firing_acknowledged_resolved_arrive_with_their_content(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """Each lifecycle event reaches the receiver once, with title, body and notify type."""
    config = _config(
        _route("oncall", receiver.url(), events=("firing", "acknowledged", "resolved"))
    )
    notifier, notes = await _notifier(store, clock, config)
    incident = _incident(12, clock())
    await notifier.on_incident(incident, "fired")
    await notifier.step()
    clock.advance(190)
    acked = {**incident, "state": "acknowledged", "acknowledged_by": "alice"}
    await notifier.on_incident(acked, "acknowledged")
    await notifier.step()
    resolved = {**acked, "state": "resolved", "resolved_at": clock(), "resolved_by": "rule"}
    await notifier.on_incident(resolved, "resolved")
    await notifier.step()

    got = receiver.received
    assert [(p["title"], p["type"]) for p in got] == [
        ("[FIRING] EndpointDown (critical) #12", "failure"),
        ("[ACKNOWLEDGED] EndpointDown (critical) #12", "info"),
        ("[RESOLVED] EndpointDown (critical) #12", "success"),
    ]
    assert "captions is down" in got[0]["message"]
    assert "http://aiwatch.test:9531/api/v1/incidents/12" in got[0]["message"]
    assert "Acknowledged by: alice" in got[1]["message"]
    assert "Resolved after: 3m 10s by rule" in got[2]["message"]
    assert [d for _, d in notes] == [
        "route=oncall kind=firing attempt=1 result=sent",
        "route=oncall kind=acknowledged attempt=1 result=sent",
        "route=oncall kind=resolved attempt=1 result=sent",
    ]
    assert await notifier.queue_length() == 0


async def test_matchers_route_to_the_right_receiver(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """Critical goes to on-call only; the vision team's warnings go to their channel."""
    config = _config(
        _route("oncall", receiver.url("oncall"), 'severity="critical"'),
        _route("vision", receiver.url("vision"), 'team="vision"'),
        _route("rest", receiver.url("rest")),
    )
    notifier, _ = await _notifier(store, clock, config)
    await notifier.on_incident(_incident(1, clock(), labels={"team": "vision"}), "fired")
    await notifier.on_incident(
        _incident(2, clock(), labels={"severity": "warning", "team": "vision"}), "fired"
    )
    await notifier.on_incident(_incident(3, clock(), labels={"severity": "info"}), "fired")
    await notifier.step()
    assert sorted((p["path"], p["title"][-2:]) for p in receiver.received) == [
        ("/oncall", "#1"),
        ("/rest", "#3"),
        ("/vision", "#2"),
    ]


async def test_silenced_incident_is_not_notified(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """A silenced incident sends nothing, unless a route asks for the silenced event."""
    config = _config(
        _route("quiet", receiver.url("quiet"), continue_=True),
        _route("audit", receiver.url("audit"), events=("silenced",)),
    )
    notifier, _ = await _notifier(store, clock, config)
    silenced = _incident(5, clock(), silenced=True)
    await notifier.on_incident(silenced, "fired")
    await notifier.on_incident(silenced, "silenced")
    await notifier.on_incident({**silenced, "state": "resolved"}, "resolved")
    await notifier.step()
    assert [(p["path"], p["title"], p["type"]) for p in receiver.received] == [
        ("/audit", "[SILENCED] EndpointDown (critical) #5", "warning")
    ]


async def test_repeat_and_escalation_fire_at_the_right_times(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """Reminders every repeat_interval; after escalate_after the next route hears too."""
    config = _config(
        _route(
            "oncall",
            receiver.url("oncall"),
            'severity="critical"',
            repeat_interval=600.0,
            escalate_after=900.0,
        ),
        _route("managers", receiver.url("managers"), 'severity="none"'),
    )
    notifier, notes = await _notifier(store, clock, config)
    incident = _incident(7, clock())
    await notifier.on_incident(incident, "fired")
    assert await notifier.step() <= 1.0
    clock.advance(599)
    await notifier.step()
    assert receiver.titles() == ["[FIRING] EndpointDown (critical) #7"]
    clock.advance(1)
    await notifier.step()
    await notifier.step()  # asking again at the same time sends nothing new
    assert receiver.titles("oncall")[-1] == "[FIRING] EndpointDown (critical) #7 reminder 1"
    clock.advance(299)
    await notifier.step()
    assert receiver.titles("managers") == []
    clock.advance(1)
    await notifier.step()
    assert receiver.titles("managers") == ["[ESCALATION] EndpointDown (critical) #7"]
    clock.advance(300)
    await notifier.step()
    assert receiver.titles("oncall")[-1].endswith("reminder 2")
    # The timeline tells the reminders apart, as their titles do.
    assert [d for _, d in notes] == [
        "route=oncall kind=firing attempt=1 result=sent",
        "route=oncall kind=repeat reminder=1 attempt=1 result=sent",
        "route=managers kind=escalation attempt=1 result=sent",
        "route=oncall kind=repeat reminder=2 attempt=1 result=sent",
    ]
    assert len(receiver.received) == 4

    await notifier.on_incident({**incident, "state": "acknowledged"}, "acknowledged")
    clock.advance(3600)
    await notifier.step()
    assert len(receiver.received) == 4  # acknowledged: no more reminders


async def test_receiver_down_then_up_delivers_each_exactly_once(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """500s are retried with backoff; after recovery each notification arrives once."""
    config = _config(_route("oncall", receiver.url()))
    outcomes: list[Outcome] = []
    notifier, notes = await _notifier(store, clock, config, observe=outcomes.append)
    receiver.fail_next = 12
    for iid in range(1, 6):
        await notifier.on_incident(_incident(iid, clock()), "fired")
    for _ in range(12):
        await notifier.step()
        clock.advance(400)  # past the capped backoff
    titles = receiver.titles()
    assert sorted(titles) == sorted(f"[FIRING] EndpointDown (critical) #{i}" for i in range(1, 6))
    assert receiver.attempts == 12 + 5
    assert sum(o.error is None for o in outcomes) == 5
    assert any("result=failed" in d and "attempt=2" in d for _, d in notes)
    assert await notifier.queue_length() == 0


async def test_same_event_twice_is_sent_once(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """(incident, event, route) is a unique key: a repeated store callback sends nothing."""
    notifier, _ = await _notifier(store, clock, _config(_route("oncall", receiver.url())))
    await notifier.on_incident(_incident(1, clock()), "fired")
    await notifier.step()
    await notifier.on_incident(_incident(1, clock()), "fired")
    await notifier.step()
    assert len(receiver.received) == 1


async def test_queue_survives_a_new_notifier_on_the_same_database(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """Rows queued while the receiver was down are sent by the next process."""
    config = _config(_route("oncall", receiver.url()))
    first, _ = await _notifier(store, clock, config)
    receiver.fail_next = 100
    await first.on_incident(_incident(1, clock()), "fired")
    await first.step()
    assert await first.queue_length() == 1
    receiver.fail_next = 0
    second, _ = await _notifier(store, clock, config)
    clock.advance(10)
    await second.step()
    assert receiver.titles() == ["[FIRING] EndpointDown (critical) #1"]


async def test_slow_receiver_times_out_without_blocking_the_loop(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """A delivery that hangs is abandoned at the time limit while the loop stays free."""
    config = _config(_route("oncall", receiver.url(rto="30")))
    notifier, notes = await _notifier(store, clock, config, time_limit=0.3)
    receiver.delay = 2.0
    await notifier.on_incident(_incident(1, clock()), "fired")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = asyncio.get_running_loop().time()
    await notifier.step()
    elapsed = asyncio.get_running_loop().time() - started
    task.cancel()
    assert elapsed < 1.5
    assert ticks >= 10  # the loop kept running while Apprise waited
    assert "timed out after 0.3s" in notes[0][1]


async def test_route_templates_shape_the_message(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """A route's own templates, in the annotation template language, make the message."""
    route = _route(
        "oncall",
        receiver.url(),
        templates=Templates(
            title="{{ .Status }} {{ $labels.target }}", body="value {{ humanize $value }}"
        ),
    )
    notifier, _ = await _notifier(store, clock, _config(route))
    await notifier.on_incident({**_incident(1, clock()), "value": 2500}, "fired")
    await notifier.step()
    assert [(p["title"], p["message"]) for p in receiver.received] == [
        ("FIRING captions", "value 2.5k")
    ]


async def test_apprise_config_file_with_tags(
    store: Database, clock: Clock, receiver: Receiver, tmp_path: Path
) -> None:
    """A route with ``apprise_config`` and ``tags`` sends only to that file's tagged URLs."""
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n"
        f"  - {receiver.url('vision')}:\n      - tag: vision\n"
        f"  - {receiver.url('other')}:\n      - tag: other\n"
    )
    route = Route(name="team", apprise_config="apprise.yml", tags=("vision",))
    config = replace(_config(route), path=str(tmp_path / "aiwatch.yml"))
    notifier, _ = await _notifier(store, clock, config)
    await notifier.on_incident(_incident(1, clock()), "fired")
    await notifier.step()
    assert [p["path"] for p in receiver.received] == ["/vision"]


async def test_partial_failure_retries_only_the_failed_destination(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """With two URLs on a route, a retry goes only to the one that failed."""
    route = Route(
        name="two",
        apprise=(Secret(receiver.url("ok")), Secret("json://127.0.0.1:1/closed?cto=0.2")),
    )
    notifier, notes = await _notifier(store, clock, _config(route))
    await notifier.on_incident(_incident(1, clock()), "fired")
    for _ in range(3):
        await notifier.step()
        clock.advance(400)
    assert [p["path"] for p in receiver.received] == ["/ok"]
    assert [d.split("result=")[1][:6] for _, d in notes] == ["failed"] * 3
    assert all("url1:" in d and "url0" not in d for _, d in notes)


async def test_resolved_waits_for_the_firing_message_before_it(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """While firing is being retried, resolved is held back: the route hears them in order."""
    notifier, _ = await _notifier(store, clock, _config(_route("oncall", receiver.url())))
    receiver.fail_next = 2
    incident = _incident(1, clock())
    await notifier.on_incident(incident, "fired")
    await notifier.step()
    await notifier.on_incident({**incident, "state": "resolved"}, "resolved")
    for _ in range(3):
        clock.advance(400)
        await notifier.step()
    assert [t.split()[0] for t in receiver.titles()] == ["[FIRING]", "[RESOLVED]"]


async def test_rows_of_a_removed_route_are_dropped_not_retried(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """After a reload removes a route, its queued rows are given up with a timeline note."""
    config = [_config(_route("old", receiver.url()))]
    await store.write(outbox.migrate)
    notes: list[tuple[int, str]] = []

    def timeline(db: Any, iid: int, detail: str, at: float) -> None:
        del db, at
        notes.append((iid, detail))

    notifier = Notifier(store=store, config=lambda: config[0], timeline=timeline, clock=clock)
    receiver.fail_next = 1
    await notifier.on_incident(_incident(1, clock()), "fired")
    await notifier.step()
    config[0] = _config(_route("new", receiver.url()))
    clock.advance(400)
    await notifier.step()
    assert receiver.received == []
    assert "route 'old' is no longer configured" in notes[-1][1]
    assert await notifier.queue_length() == 0


async def test_sent_rows_are_pruned_after_a_week_pending_ones_never(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """The outbox does not grow forever, and pruning never loses an undelivered row."""
    notifier, _ = await _notifier(store, clock, _config(_route("oncall", receiver.url())))
    await notifier.on_incident(_incident(1, clock()), "fired")
    await notifier.step()
    receiver.fail_next = 10**6
    clock.advance(8 * 86400)
    await notifier.on_incident(_incident(2, clock()), "fired")
    await notifier.step()
    rows = await store.read(
        lambda db: db.execute("SELECT incident_id, state FROM notify_outbox").fetchall()
    )
    assert rows == [(2, "pending")]


async def test_an_escalated_route_hears_how_the_incident_ends(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """The route an incident escalated to is not matched by its labels, yet it was paged:
    it also gets the acknowledgement and the resolution its events ask for, so managers
    are not left thinking the incident is still open."""
    config = _config(
        _route("oncall", receiver.url("oncall"), 'severity="critical"', escalate_after=900.0),
        _route(
            "managers",
            receiver.url("managers"),
            'severity="none"',
            events=("firing", "acknowledged", "resolved"),
        ),
        _route("quiet", receiver.url("quiet"), 'severity="none"'),
    )
    notifier, _ = await _notifier(store, clock, config)
    incident = _incident(8, clock())
    await notifier.on_incident(incident, "fired")
    clock.advance(900)
    await notifier.step()
    assert receiver.titles("managers") == ["[ESCALATION] EndpointDown (critical) #8"]
    acked = {**incident, "state": "acknowledged", "acknowledged_by": "bob"}
    await notifier.on_incident(acked, "acknowledged")
    resolved = {**acked, "state": "resolved", "resolved_at": clock(), "resolved_by": "rule"}
    await notifier.on_incident(resolved, "resolved")
    await notifier.step()
    assert receiver.titles("managers") == [
        "[ESCALATION] EndpointDown (critical) #8",
        "[ACKNOWLEDGED] EndpointDown (critical) #8",
        "[RESOLVED] EndpointDown (critical) #8",
    ]
    assert receiver.titles("oncall") == [
        "[FIRING] EndpointDown (critical) #8",
        "[RESOLVED] EndpointDown (critical) #8",
    ]
    assert receiver.titles("quiet") == []


async def test_dropped_rows_are_not_counted_as_failed_deliveries(
    store: Database, clock: Clock, receiver: Receiver
) -> None:
    """Giving up the rows of a route a reload removed is no delivery attempt: the metrics
    hear no 'failed' for it (which would raise AIWatchNotificationsFailing for a route that
    no longer exists)."""
    config = [_config(_route("old", receiver.url()))]
    await store.write(outbox.migrate)
    notifier = Notifier(store=store, config=lambda: config[0], clock=clock)
    registry = CollectorRegistry()
    notifier.observe = NotifyMetrics(registry, notifier).observe
    receiver.fail_next = 1
    await notifier.on_incident(_incident(1, clock()), "fired")
    await notifier.step()
    config[0] = _config(_route("new", receiver.url()))
    clock.advance(400)
    await notifier.step()
    assert (
        registry.get_sample_value(
            "aiwatch_notifications_total", {"route": "old", "result": "failed"}
        )
        == 1.0
    )
    assert await notifier.queue_length() == 0


async def test_a_failing_route_is_logged_once_and_its_recovery_once(
    store: Database, clock: Clock, receiver: Receiver, caplog: Any
) -> None:
    """Twelve failed attempts give one warning (the retries are at debug), and the first
    delivery after them one info line that the route delivers again."""
    import logging

    config = _config(_route("oncall", receiver.url()))
    notifier, _ = await _notifier(store, clock, config)
    receiver.fail_next = 12
    for iid in range(1, 6):
        await notifier.on_incident(_incident(iid, clock()), "fired")
    with caplog.at_level(logging.INFO, logger="aiwatch.notify"):
        for _ in range(12):
            await notifier.step()
            clock.advance(400)
    messages = [r.getMessage() for r in caplog.records if r.name == "aiwatch.notify"]
    assert messages == [
        "Notification failed; will retry",
        "Notification recovered: the route delivers again",
    ]
    assert receiver.attempts == 12 + 5
