"""The seam between rule evaluation and whoever remembers alerts (the incident store).

After every evaluation of a group, the rule manager hands every alert instance whose state
changed — and every firing alert again, so a consumer that missed one can catch up — to
one ``AlertSink``. The sink never sees rule internals and may not call back into them.

What a consumer can rely on:

* one ``alerts_changed`` call per group evaluation that produced events, in evaluation
  order; events inside a call are ordered by rule, then by ``fingerprint``;
* ``state`` is ``"pending"``, ``"firing"`` or ``"resolved"``; a ``resolved`` event is sent
  once, at the evaluation where the alert stopped firing (``keep_firing_for`` included);
* ``fingerprint`` is Prometheus' label-set hash of ``labels`` (``alertname`` included), so
  one alert keeps one fingerprint across evaluations and restarts;
* ``changed`` says whether this event is a transition (new pending, pending → firing,
  firing → resolved) or a repeat of an unchanged firing alert;
* times are Unix seconds (floats); ``fired_at`` and ``resolved_at`` are None until then.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

log = logging.getLogger(__name__)

EventState = Literal["pending", "firing", "resolved"]


@dataclass(frozen=True)
class AlertEvent:
    """One alert instance at one evaluation, as the incident store sees it."""

    group: str
    rule: str
    state: EventState
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float
    active_at: float
    fired_at: float | None
    resolved_at: float | None
    generator_url: str
    fingerprint: str
    evaluated_at: float
    changed: bool = True
    file: str = field(default="", compare=False)


class AlertSink(Protocol):
    """Receives alert events after each group evaluation."""

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Take the events of one group evaluation; must not raise for bad input."""


FiringNow = Callable[[], Sequence[AlertEvent]]
"""Returns a ``firing`` event (``changed=False``) for every alert firing at the call."""


@runtime_checkable
class Reconciler(Protocol):
    """A sink that can bring what it remembers in line with the alerts firing now."""

    async def reconcile(self, firing: FiringNow) -> None:
        """Open what fires without a record, end what is recorded open but no longer fires.

        ``firing`` is called when the sink is ready to compare, so the list is current.
        """


class NullSink:
    """A sink that forgets everything (for ``test rules`` and when nothing is wired)."""

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Drop ``events``."""
        del events


class MemorySink:
    """A sink that keeps every event in order: for tests and for debugging."""

    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Append ``events``."""
        self.events.extend(events)


_LOGGED: dict[EventState, str] = {
    "pending": "Alert pending",
    "firing": "Alert firing",
    "resolved": "Alert resolved",
}


class LogSink:
    """Logs each alert transition at info (new pending, firing, resolved), never a repeat."""

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """One line per changed event."""
        for event in events:
            if not event.changed:
                continue
            labels = ",".join(
                f'{k}="{v}"' for k, v in sorted(event.labels.items()) if k != "alertname"
            )
            log.info(
                _LOGGED[event.state],
                extra={
                    "alertname": event.labels.get("alertname", event.rule),
                    "labels": "{" + labels + "}",
                    "value": event.value,
                },
            )


class FanOutSink:
    """Hands every batch to each sink in turn; one failing sink does not stop the others.

    ``sinks`` is read at each call, so sinks registered after start-up are included.
    """

    def __init__(self, sinks: Callable[[], Sequence[AlertSink]]) -> None:
        self._sinks = sinks

    async def reconcile(self, firing: FiringNow) -> None:
        """Pass ``reconcile`` on to every sink that has it."""
        for sink in self._sinks():
            if not isinstance(sink, Reconciler):
                continue
            try:
                await sink.reconcile(firing)
            except Exception:
                log.exception("alert sink %s failed to reconcile", type(sink).__name__)

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Pass ``events`` to every sink."""
        for sink in self._sinks():
            try:
                await sink.alerts_changed(events)
            except Exception:
                log.exception("alert sink %s failed", type(sink).__name__)
