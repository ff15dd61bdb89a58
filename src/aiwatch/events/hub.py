"""The event hub: numbered events, a bounded ring for resuming, a bounded queue per listener.

Publishing never waits: an event is numbered, kept in the ring (unless it is a probe
result, which is live only) and appended to each listener's queue. A listener whose queue
is full is dropped at once, so a slow client costs the daemon at most ``queue_size``
events of memory and never delays the others.
"""

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

RING_SIZE = 4096
"""Events kept for ``Last-Event-ID`` resume (incident, alert and target events)."""
QUEUE_SIZE = 4096
"""Events waiting for one listener; one more and the listener is dropped."""
MAX_LISTENERS = 1024
"""Listeners at once; beyond, a new stream is refused with 503."""

PROBE = "probe"
"""The type of probe-result events: sent only to listeners that asked, never replayed."""


@dataclass(frozen=True)
class Event:
    """One event: its number, type and JSON data, and its bytes on the wire."""

    id: int
    type: str
    data: str
    target: str = ""
    """The target a ``probe`` event is about (listeners may ask for one target)."""
    wire: bytes = b""
    """The event as every stream sends it, built once (``data`` is one line of JSON)."""


def frame(id_: int, type_: str, data: str) -> bytes:
    """An event in the text/event-stream format."""
    return f"id: {id_}\r\nevent: {type_}\r\ndata: {data}\r\n\r\n".encode()


@dataclass(eq=False)
class Listener:
    """One client's queue; ``dropped`` once it overflowed."""

    probes: bool
    target: str
    queue: deque[Event] = field(default_factory=deque)
    dropped: bool = False
    closed: bool = False
    """The daemon is shutting down: the stream ends without a ``dropped`` event."""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when events are queued, or once the listener is dropped."""
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the listener is dropped: its stream stops even in the middle of a write."""

    def wants(self, event: Event) -> bool:
        """Whether this listener asked for ``event``."""
        if event.type != PROBE:
            return True
        return self.probes and (not self.target or self.target == event.target)


@dataclass(frozen=True)
class Missed:
    """Why a resume cannot be complete: events after ``last_id`` left the ring."""

    last_id: int
    oldest_id: int | None


class Hub:
    """Numbers events, keeps the ring and feeds every listener; all on the event loop."""

    def __init__(
        self,
        *,
        first_id: int,
        ring_size: int = RING_SIZE,
        queue_size: int = QUEUE_SIZE,
        max_listeners: int = MAX_LISTENERS,
    ) -> None:
        """Ids start at ``first_id``: the daemon passes its start time in milliseconds, so
        an id from before a restart is older than every id of this run."""
        self.first_id = first_id
        self.queue_size = queue_size
        self.max_listeners = max_listeners
        self._ids = itertools.count(first_id)
        self._last = first_id - 1
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._evicted = first_id - 1
        """The newest id that left the ring (or was never kept): older resumes miss events."""
        self.listeners: set[Listener] = set()
        self._probes = 0
        """How many listeners asked for probe results (read for every probe's result)."""

    @property
    def probe_listeners(self) -> bool:
        """Whether any listener asked for probe results (else none are encoded)."""
        return self._probes > 0

    def publish(self, type_: str, data: dict[str, Any], *, target: str = "") -> Event:
        """Number ``data`` as an event of ``type_``, keep it and hand it to every listener."""
        number, text = next(self._ids), json.dumps(data, separators=(",", ":"))
        event = Event(number, type_, text, target, frame(number, type_, text))
        self._last = event.id
        if type_ != PROBE:
            if len(self._ring) == self._ring.maxlen:
                self._evicted = self._ring[0].id
            self._ring.append(event)
        for listener in self.listeners:
            if listener.dropped or not listener.wants(event):
                continue
            if len(listener.queue) >= self.queue_size:
                self._drop(listener)
                continue
            listener.queue.append(event)
            listener.wake.set()
        return event

    def _drop(self, listener: Listener) -> None:
        listener.dropped = True
        listener.queue.clear()
        listener.wake.set()
        listener.gone.set()

    def subscribe(
        self, *, last_id: int | None, probes: bool = False, target: str = ""
    ) -> tuple[Listener, Missed | None]:
        """A new listener, its queue filled with the ring's events after ``last_id``.

        The second value says when that replay is incomplete: ``last_id`` is older than
        the ring (or from before this run), or newer than any event sent.
        """
        listener = Listener(probes=probes, target=target)
        missed = None
        if last_id is not None:
            if last_id < self._evicted or last_id > self._last:
                oldest = self._ring[0].id if self._ring else None
                missed = Missed(last_id, oldest)
            replay = [e for e in self._ring if e.id > last_id] if missed is None else []
            listener.queue.extend(replay[-self.queue_size :])
        if listener.queue:
            listener.wake.set()
        self.listeners.add(listener)
        self._probes += probes
        return listener, missed

    def close_all(self) -> None:
        """End every stream (the daemon is shutting down)."""
        for listener in self.listeners:
            listener.closed = True
            listener.wake.set()

    def unsubscribe(self, listener: Listener) -> None:
        """Forget ``listener`` (its stream ended)."""
        if listener in self.listeners:
            self.listeners.discard(listener)
            self._probes -= listener.probes

    @staticmethod
    async def next_events(listener: Listener) -> list[Event]:
        """Wait for the listener's next events; an empty list once it has been dropped."""
        await listener.wake.wait()
        listener.wake.clear()
        if listener.dropped or listener.closed:
            return []
        events = list(listener.queue)
        listener.queue.clear()
        return events
