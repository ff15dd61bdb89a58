"""The rules engine's alert events into the incident store (an ``AlertSink``)."""

from collections.abc import Sequence

from aiwatch.incidents.lifecycle import Alert
from aiwatch.incidents.store import IncidentStore
from aiwatch.rules.events import AlertEvent


def to_alert(event: AlertEvent) -> Alert | None:
    """The store's view of one rule event; pending alerts open nothing, so they are None."""
    if event.state == "pending":
        return None
    return Alert(
        fingerprint=event.fingerprint,
        state=event.state,
        labels=dict(event.labels),
        annotations=dict(event.annotations),
        value=event.value,
        at=event.evaluated_at,
        fired_at=event.fired_at,
        resolved_at=event.resolved_at,
        generator_url=event.generator_url,
    )


class IncidentSink:
    """Opens, updates and resolves incidents from the rule manager's events."""

    def __init__(self, store: IncidentStore) -> None:
        self._store = store

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Apply one group evaluation's events in one transaction."""
        alerts = [a for e in events if (a := to_alert(e)) is not None]
        await self._store.observe(alerts)
