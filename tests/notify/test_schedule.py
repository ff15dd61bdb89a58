"""Reminder and escalation timing against a hand-driven clock."""

from aiwatch.notify.routing import Planned
from aiwatch.notify.schedule import Watch, due, next_due

WATCH = Watch(
    incident_id=7,
    route="oncall",
    started_at=1000.0,
    repeat_interval=600.0,
    escalate_after=900.0,
    escalate_to="managers",
)


def test_nothing_due_before_the_first_interval() -> None:
    """Just before ``repeat_interval`` has passed nothing is due; the next time is exact."""
    assert due(WATCH, 1599.9) == []
    assert next_due(WATCH, 1000.0) == 1600.0


def test_reminders_are_numbered_by_elapsed_intervals() -> None:
    """The reminder number counts whole intervals, so asking twice gives the same one."""
    assert due(WATCH, 1600.0) == [Planned(route="oncall", kind="repeat", seq=1)]
    assert due(WATCH, 1700.0) == [Planned(route="oncall", kind="repeat", seq=1)]
    assert next_due(WATCH, 1600.0) == 1900.0


def test_escalation_goes_to_the_next_route_once_due() -> None:
    """After ``escalate_after`` the next route is due, alongside the current reminder."""
    assert due(WATCH, 1900.0) == [
        Planned(route="oncall", kind="repeat", seq=1),
        Planned(route="managers", kind="escalation"),
    ]
    assert next_due(WATCH, 1900.0) == 2200.0


def test_missed_reminders_collapse_into_one() -> None:
    """A daemon down for several intervals sends the latest reminder only."""
    assert due(WATCH, 1000.0 + 3 * 600.0 + 5)[0] == Planned(route="oncall", kind="repeat", seq=3)


def test_watch_without_timers_is_never_due() -> None:
    """No repeat_interval and no escalation target: nothing, ever."""
    plain = Watch(incident_id=1, route="r", started_at=0.0, escalate_after=60.0)
    assert due(plain, 1e9) == []
    assert next_due(plain, 0.0) is None
