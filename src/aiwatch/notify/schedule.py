"""When reminders and escalations are due: pure timing with an injectable clock.

A reminder's number is how many ``repeat_interval``s have passed since the incident
started, so a reminder has one identity however often this is asked, and a daemon that
was down for three intervals sends one reminder, not three.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiwatch.notify.routing import Planned

Clock = Callable[[], float]
"""Unix seconds now; tests pass a hand-driven clock."""

system_clock: Clock = time.time


@dataclass(frozen=True)
class Watch:
    """A firing, unacknowledged incident that a route may have to remind or escalate."""

    incident_id: int
    route: str
    started_at: float
    repeat_interval: float | None = None
    escalate_after: float | None = None
    escalate_to: str | None = None


def due(watch: Watch, now: float) -> list[Planned]:
    """The reminder and escalation that are due at ``now`` (none before they are)."""
    out = []
    elapsed = now - watch.started_at
    if watch.repeat_interval and elapsed >= watch.repeat_interval:
        seq = math.floor(elapsed / watch.repeat_interval)
        out.append(Planned(route=watch.route, kind="repeat", seq=seq))
    if watch.escalate_after is not None and watch.escalate_to and elapsed >= watch.escalate_after:
        out.append(Planned(route=watch.escalate_to, kind="escalation"))
    return out


def next_due(watch: Watch, now: float) -> float | None:
    """When the next reminder or escalation after ``now`` falls due, if ever."""
    times = []
    elapsed = now - watch.started_at
    if watch.repeat_interval:
        n = math.floor(max(elapsed, 0.0) / watch.repeat_interval) + 1
        times.append(watch.started_at + n * watch.repeat_interval)
    if watch.escalate_after is not None and watch.escalate_to and elapsed < watch.escalate_after:
        times.append(watch.started_at + watch.escalate_after)
    return min(times) if times else None
