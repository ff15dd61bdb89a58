"""The incident state machine: pure functions from an observation to a decision."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

State = Literal["firing", "acknowledged", "resolved"]
EventName = Literal["fired", "acknowledged", "silenced", "resolved", "notified"]
AlertState = Literal["firing", "resolved"]

OPEN_STATES: tuple[State, ...] = ("firing", "acknowledged")
RULE = "rule"
"""``resolved_by`` when the alert itself stopped firing."""


class IllegalTransition(Exception):
    """A person asked for a move the incident's state does not allow (answered with 409)."""


def rfc3339(ts: float | None) -> str | None:
    """Unix seconds as an RFC 3339 UTC timestamp with ``Z`` (milliseconds when not whole)."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    spec = "seconds" if moment.microsecond == 0 else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """One line of an incident's timeline."""

    at: float
    event: str
    by: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The timeline entry of the API."""
        return {"at": rfc3339(self.at), "event": self.event, "by": self.by, "detail": self.detail}


@dataclass(frozen=True)
class Incident:
    """One firing episode of one alert (one fingerprint); ``id`` is 0 until stored."""

    fingerprint: str
    state: State
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float
    started_at: float
    id: int = 0
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    previous_id: int | None = None
    silenced: bool = False
    generator_url: str = ""
    ends_at: float | None = None
    """A pushed alert's latest ``endsAt``: without a newer report it resolves then."""
    timeline: tuple[Event, ...] = field(default=(), compare=False)

    @property
    def alertname(self) -> str:
        """The alert's name (its ``alertname`` label)."""
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        """The ``severity`` label, ``none`` without one."""
        return self.labels.get("severity") or "none"

    @property
    def is_open(self) -> bool:
        """Firing or acknowledged."""
        return self.state in OPEN_STATES

    def to_json(self, *, timeline: bool = True) -> dict[str, Any]:
        """The API document, plus ``silenced``, ``fingerprint``, ``generator_url``."""
        doc: dict[str, Any] = {
            "id": self.id,
            "state": self.state,
            "alertname": self.alertname,
            "severity": self.severity,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "value": self.value if math.isfinite(self.value) else None,
            "started_at": rfc3339(self.started_at),
            "acknowledged_at": rfc3339(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": rfc3339(self.resolved_at),
            "resolved_by": self.resolved_by,
            "previous_id": self.previous_id,
            "silenced": self.silenced,
            "fingerprint": self.fingerprint,
            "generator_url": self.generator_url,
        }
        if timeline:
            doc["timeline"] = [e.to_json() for e in self.timeline]
        return doc


@dataclass(frozen=True)
class Alert:
    """One alert as reported by the rules engine or an Alertmanager client."""

    fingerprint: str
    state: AlertState
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float
    at: float
    """When it was observed (the evaluation time, or arrival for pushed alerts)."""
    fired_at: float | None = None
    resolved_at: float | None = None
    generator_url: str = ""
    ends_at: float | None = None
    """A firing pushed alert's ``endsAt`` (Alertmanager resolves it then); None for rules."""


@dataclass(frozen=True)
class Change:
    """What the store must write: a new incident, or new fields of an existing one.

    ``events`` are appended to the timeline in order; listeners hear each of them.
    """

    incident: Incident
    events: tuple[Event, ...]
    opened: bool = False


def _format_value(value: float) -> str:
    if math.isnan(value):
        # Alertmanager payloads carry no value; they arrive as NaN.
        return "value unknown"
    if math.isinf(value):
        # An expression like `errors / 0` fires with +Inf, a known value; spelled as PromQL does.
        return "value +Inf" if value > 0 else "value -Inf"
    return f"value {value:g}"


def observe(
    alert: Alert, *, current: Incident | None, latest: Incident | None, silenced: bool
) -> Change | None:
    """What an alert report does to its fingerprint's incidents.

    ``current`` is the open incident of the fingerprint, ``latest`` the newest one whatever
    its state; ``silenced`` whether an active silence matches the alert's labels now.
    Returns None when nothing changes (a repeated report of an unchanged firing alert).
    """
    if alert.state == "resolved":
        if current is None:
            return None
        at = alert.resolved_at if alert.resolved_at is not None else alert.at
        at = max(at, current.started_at, current.acknowledged_at or at)
        resolved = replace(current, state="resolved", resolved_at=at, resolved_by=RULE)
        return Change(resolved, (Event(at=at, event="resolved", by=RULE, detail="alert resolved"),))
    if current is not None:
        return _update(current, alert, silenced=silenced)
    if latest is not None and _stale_repeat(latest, alert):
        return None
    return _open(alert, previous=latest, silenced=silenced)


def _stale_repeat(latest: Incident, alert: Alert) -> bool:
    """A firing report of the episode the rule already resolved (a late or resent copy).

    A person's resolve is different: the alert still firing means a new incident.
    """
    if latest.ends_at is not None and alert.ends_at is not None and alert.ends_at > latest.ends_at:
        # The sender says it fires past anything it said before: news, not a copy (Prometheus
        # back after a gap long enough for the last endsAt to pass).
        return False
    return (
        latest.resolved_by == RULE
        and latest.resolved_at is not None
        and alert.fired_at is not None
        and alert.fired_at < latest.resolved_at
    )


def _open(alert: Alert, *, previous: Incident | None, silenced: bool) -> Change:
    started = alert.fired_at if alert.fired_at is not None else alert.at
    if previous is not None and previous.resolved_at is not None and started < previous.resolved_at:
        # Still firing after a person's resolve: the new episode starts at this report.
        started = max(alert.at, previous.resolved_at)
    incident = Incident(
        fingerprint=alert.fingerprint,
        state="firing",
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        value=alert.value,
        started_at=started,
        previous_id=previous.id if previous is not None else None,
        silenced=silenced,
        generator_url=alert.generator_url,
        ends_at=alert.ends_at,
    )
    events = [Event(at=started, event="fired", detail=_format_value(alert.value))]
    if silenced:
        events.append(Event(at=started, event="silenced", detail="matched an active silence"))
    return Change(incident, tuple(events), opened=True)


def _update(current: Incident, alert: Alert, *, silenced: bool) -> Change | None:
    events: list[Event] = []
    updated = current
    if dict(alert.annotations) != dict(current.annotations):
        updated = replace(updated, annotations=dict(alert.annotations))
    if alert.generator_url and alert.generator_url != current.generator_url:
        updated = replace(updated, generator_url=alert.generator_url)
    if alert.ends_at != current.ends_at:
        updated = replace(updated, ends_at=alert.ends_at)
    if silenced and not current.silenced:
        # Silences mute, never unmute: one that ends does not re-announce this episode.
        updated = replace(updated, silenced=True)
        events.append(Event(at=alert.at, event="silenced", detail="matched an active silence"))
    if updated == current:
        return None
    return Change(updated, tuple(events))


def expire(incident: Incident) -> Change | None:
    """A pushed alert whose sender went quiet past its ``endsAt`` resolves then (Alertmanager).

    ``ends_at`` is kept, so a later report can tell whether it is news (see ``observe``).
    """
    if not incident.is_open or incident.ends_at is None:
        return None
    at = max(incident.ends_at, incident.started_at, incident.acknowledged_at or incident.ends_at)
    done = replace(incident, state="resolved", resolved_at=at, resolved_by=RULE)
    detail = "no report since; the sender's endsAt passed"
    return Change(done, (Event(at=at, event="resolved", by=RULE, detail=detail),))


def acknowledge(incident: Incident, *, by: str, comment: str, at: float) -> Change:
    """A person takes a firing incident."""
    if incident.state != "firing":
        # Name who put it in its state: the acknowledger of an acknowledged one, the resolver
        # (a person or the rule) of a resolved one, even if someone acknowledged it first.
        who = incident.resolved_by if incident.state == "resolved" else incident.acknowledged_by
        by_whom = f" by {who}" if who else ""
        msg = (
            f"incident {incident.id} is {incident.state}{by_whom}; "
            "only a firing one can be acknowledged"
        )
        raise IllegalTransition(msg)
    at = max(at, incident.started_at)
    acked = replace(incident, state="acknowledged", acknowledged_at=at, acknowledged_by=by)
    return Change(acked, (Event(at=at, event="acknowledged", by=by, detail=comment),))


def resolve(incident: Incident, *, by: str, comment: str, at: float) -> Change:
    """A person closes an open incident (the alert may still fire: see ``observe``)."""
    if not incident.is_open:
        msg = f"incident {incident.id} is already resolved by {incident.resolved_by}"
        raise IllegalTransition(msg)
    at = max(at, incident.started_at, incident.acknowledged_at or at)
    done = replace(incident, state="resolved", resolved_at=at, resolved_by=by)
    return Change(done, (Event(at=at, event="resolved", by=by, detail=comment),))
