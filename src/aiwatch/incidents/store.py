"""The incident store: alert reports and people's actions in, incidents and their events out.

Extension points for other parts of aiwatch:

* ``add_migrations(m)`` before ``open()``: their own tables in the same file;
* ``write(fn)`` / ``read(fn)``: ``fn(conn)`` in the writer thread (one transaction) or a
  reader thread;
* ``add_listener(async fn(incident, event))``: called after each committed change, in commit
  order, with the incident's API document (no timeline) and the event name — ``fired``,
  ``acknowledged``, ``silenced``, ``resolved``, or the name given to ``add_event``;
* ``add_hook(fn(conn, incident, event))``: the same (but not for ``add_event`` notes),
  inside the change's own transaction in the writer thread, so nothing committed can miss
  it (keep it short; raising rolls the change back);
* ``add_event(id, "notified", detail=…)``: append to an incident's timeline; inside another
  write (the notifier's), ``incidents.timeline.notified`` does the same.
"""

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from aiwatch.incidents import records, silences
from aiwatch.incidents.lifecycle import (
    Alert,
    Change,
    Event,
    Incident,
    acknowledge,
    expire,
    observe,
    resolve,
)
from aiwatch.incidents.records import NotFound, Query
from aiwatch.incidents.silences import Silence
from aiwatch.storage.migrations import Migrations
from aiwatch.storage.sqlite import DB_FILE, Database, DatabaseError

log = logging.getLogger("aiwatch.incidents")

T = TypeVar("T")

Listener = Callable[[dict[str, Any], str], Awaitable[None]]
Hook = Callable[[sqlite3.Connection, dict[str, Any], str], None]
Observer = Callable[[Incident, str], None]
Clock = Callable[[], float]

__all__ = ["DB_FILE", "DatabaseError", "IncidentStore", "NotFound", "Query"]


@dataclass(frozen=True)
class _Notice:
    incident: Incident
    event: str


class IncidentStore:
    """Incidents and silences in one SQLite file; see the module docstring for extensions."""

    def __init__(
        self, path: Path, *, clock: Clock = time.time, database: Database | None = None
    ) -> None:
        """A store in the file ``path``, or in ``database`` when it is shared with others.

        A shared database is opened and closed by its owner (the daemon opens it before any
        feature starts); a store's own database opens and closes with the store.
        """
        self.path = path
        self.clock = clock
        self._owns_db = database is None
        self._db = Database(path) if database is None else database
        self._db.add_migrations(records.MIGRATIONS)
        self._listeners: list[Listener] = []
        self._hooks: list[Hook] = []
        self._observers: list[Observer] = []
        self._queue: asyncio.Queue[tuple[list[_Notice], asyncio.Future[None]]] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self.counts: dict[str, int] = {"firing": 0, "acknowledged": 0}
        """Open incidents by state, as of the last commit (for the gauge)."""
        self.write_error: str | None = None
        """Why the last write failed (disk full, read-only file), None once one succeeds."""

    # Extension points -------------------------------------------------------------------

    def add_migrations(self, migrations: Migrations) -> None:
        """Apply ``migrations`` (a sqlite-utils set) to the same file when the store opens."""
        if self._dispatcher is not None:
            msg = "add migrations before the incident store opens"
            raise RuntimeError(msg)
        self._db.add_migrations(migrations)

    def add_listener(self, listener: Listener) -> None:
        """Await ``listener(incident, event)`` after each committed change, in commit order."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(conn, incident, event)`` inside each change's transaction."""
        self._hooks.append(hook)

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(incident, event)`` on the loop after each commit (for metrics)."""
        self._observers.append(observer)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in the writer thread, in one ``BEGIN IMMEDIATE`` transaction."""
        return await self._tracked(self._db.write(fn))

    async def _tracked(self, write: Awaitable[T]) -> T:
        """Await ``write``, remembering whether the file could be written (for readiness)."""
        try:
            result = await write
        except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as err:
            if _storage_failure(err):
                self.write_error = str(err)
            raise
        self.write_error = None
        return result

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in a reader thread on a consistent snapshot."""
        return await self._db.read(fn)

    # Lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file and start the threads; ``DatabaseError`` names the file if it cannot."""
        if self._owns_db:
            await asyncio.to_thread(self._db.open)
        self.counts = await self.read(records.open_counts)
        self._queue = asyncio.Queue()
        self._dispatcher = asyncio.create_task(
            self._dispatch(self._queue), name="aiwatch-incident-events"
        )

    async def close(self) -> None:
        """Deliver pending events, stop the threads and close the file."""
        if self._queue is not None and self._dispatcher is not None:
            await self._queue.join()
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        if self._owns_db:
            await asyncio.to_thread(self._db.close)

    async def _dispatch(
        self, queue: asyncio.Queue[tuple[list[_Notice], asyncio.Future[None]]]
    ) -> None:
        while True:
            notices, done = await queue.get()
            try:
                for notice in notices:
                    await self._tell(notice)
            finally:
                if not done.done():
                    done.set_result(None)
                queue.task_done()

    async def _tell(self, notice: _Notice) -> None:
        for observer in self._observers:
            try:
                observer(notice.incident, notice.event)
            except Exception:
                log.exception("incident observer failed")
        if not self._listeners:
            return
        doc = notice.incident.to_json(timeline=False)
        for listener in list(self._listeners):
            try:
                await listener(doc, notice.event)
            except Exception:
                log.exception("incident listener failed", extra={"id": notice.incident.id})

    async def _change(
        self, fn: Callable[[sqlite3.Connection], tuple[T, list[_Notice]]], *, hooks: bool = True
    ) -> T:
        """Run a change in the writer, then tell observers and listeners in commit order.

        ``hooks=False``: a timeline note, not a change of state; hooks (notifications) skip it.
        """
        loop = asyncio.get_running_loop()
        queue = self._queue
        done: asyncio.Future[None] = loop.create_future()

        def run(conn: sqlite3.Connection) -> tuple[T, list[_Notice], dict[str, int]]:
            result, notices = fn(conn)
            for notice in notices if hooks else ():
                self._run_hooks(conn, notice)
            counts = records.open_counts(conn) if notices else {}
            return result, notices, counts

        def after_commit(out: tuple[T, list[_Notice], dict[str, int]]) -> None:
            if out[1] and queue is not None:
                loop.call_soon_threadsafe(queue.put_nowait, (out[1], done))
            if out[2]:
                loop.call_soon_threadsafe(self.counts.update, out[2])

        result, notices, _ = await self._tracked(self._db.write(run, after_commit=after_commit))
        if notices and queue is not None:
            await asyncio.shield(done)
        return result

    def _run_hooks(self, conn: sqlite3.Connection, notice: _Notice) -> None:
        if not self._hooks:
            return
        doc = notice.incident.to_json(timeline=False)
        for hook in self._hooks:
            hook(conn, doc, notice.event)

    # Alerts -----------------------------------------------------------------------------

    async def observe(self, alerts: Sequence[Alert]) -> list[Incident]:
        """Apply alert reports (one transaction); returns the incidents that changed."""
        if not alerts:
            return []
        now = self.clock()

        def apply(conn: sqlite3.Connection) -> tuple[list[Incident], list[_Notice]]:
            return self._observe_in(conn, alerts, now)

        return await self._change(apply)

    async def reconcile(self, firing: Sequence[Alert], *, owned: set[str]) -> list[Incident]:
        """Bring rule incidents in line with the alerts firing now (one transaction).

        Firing alerts are observed as usual (opening an incident where none is open); an
        open incident whose fingerprint is in ``owned`` (the alerts the caller reports) but
        not among ``firing`` resolves, as the ``resolved`` event it missed would have done.
        """
        now = self.clock()
        gone = owned - {a.fingerprint for a in firing}

        def apply(conn: sqlite3.Connection) -> tuple[list[Incident], list[_Notice]]:
            changed, notices = self._observe_in(conn, firing, now)
            for incident in records.open_incidents(conn):
                if incident.fingerprint not in gone:
                    continue
                change = observe(
                    _gone(incident, now), current=incident, latest=incident, silenced=False
                )
                if change is None:
                    continue
                saved = records.save(conn, change)
                changed.append(saved)
                notices.extend(_Notice(saved, e.event) for e in change.events)
            return changed, notices

        return await self._change(apply)

    @staticmethod
    def _observe_in(
        conn: sqlite3.Connection, alerts: Sequence[Alert], now: float
    ) -> tuple[list[Incident], list[_Notice]]:
        muting = silences.active(conn, now=now)
        changed: list[Incident] = []
        notices: list[_Notice] = []
        for alert in alerts:
            change = observe(
                alert,
                current=records.open_for(conn, alert.fingerprint),
                latest=records.latest_for(conn, alert.fingerprint),
                silenced=any(s.mutes(alert.labels, now=now) for s in muting),
            )
            if change is None:
                continue
            incident = records.save(conn, change)
            changed.append(incident)
            notices.extend(_Notice(incident, e.event) for e in change.events)
        return changed, notices

    async def expire_past_ends(self) -> list[Incident]:
        """Resolve open incidents whose pushed alert's ``endsAt`` passed with no newer report."""
        now = self.clock()
        # A read first: the writer's lock is taken only when something is due.
        if not await self.read(lambda conn: records.past_ends(conn, now=now)):
            return []

        def sweep(conn: sqlite3.Connection) -> tuple[list[Incident], list[_Notice]]:
            changed: list[Incident] = []
            notices: list[_Notice] = []
            for incident in records.past_ends(conn, now=now):
                change = expire(incident)
                if change is None:
                    continue
                saved = records.save(conn, change)
                changed.append(saved)
                notices.extend(_Notice(saved, e.event) for e in change.events)
            return changed, notices

        return await self._change(sweep)

    # People -----------------------------------------------------------------------------

    async def acknowledge(self, incident_id: int, *, by: str, comment: str = "") -> Incident:
        """A person takes a firing incident; ``NotFound`` / ``IllegalTransition`` otherwise."""
        return await self._act(incident_id, by=by, comment=comment, move=acknowledge)

    async def resolve(self, incident_id: int, *, by: str, comment: str = "") -> Incident:
        """A person closes an open incident."""
        return await self._act(incident_id, by=by, comment=comment, move=resolve)

    async def _act(
        self, incident_id: int, *, by: str, comment: str, move: Callable[..., Change]
    ) -> Incident:
        now = self.clock()

        def act(conn: sqlite3.Connection) -> tuple[Incident, list[_Notice]]:
            change = move(records.get(conn, incident_id), by=by, comment=comment, at=now)
            records.save(conn, change)
            incident = records.get(conn, incident_id)
            return incident, [_Notice(incident, e.event) for e in change.events]

        return await self._change(act)

    async def add_event(
        self, incident_id: int, event: str, *, by: str | None = None, detail: str = ""
    ) -> None:
        """Append an event (``notified`` and the like) to an incident's timeline."""
        entry = Event(at=self.clock(), event=event, by=by, detail=detail)

        def add(conn: sqlite3.Connection) -> tuple[None, list[_Notice]]:
            records.add_event(conn, incident_id, entry)
            return None, [_Notice(records.get(conn, incident_id), event)]

        # Through ``_change``: listeners hear it (the live event stream shows comments).
        await self._change(add, hooks=False)

    async def get(self, incident_id: int) -> Incident:
        """One incident with its timeline; ``NotFound`` when there is none."""
        return await self.read(lambda conn: records.get(conn, incident_id))

    async def find(self, query: Query) -> list[Incident]:
        """A page of incidents, newest first, without timelines."""
        return await self.read(lambda conn: records.find(conn, query))

    # Silences ---------------------------------------------------------------------------

    async def add_silence(self, silence: Silence, *, replaces: int | None = None) -> Silence:
        """Store a silence; open incidents it matches now are flagged with a ``silenced`` event.

        With ``replaces`` (an existing silence's id, else ``NotFound``) it is an update, as in
        Alertmanager: in place when ``silences.can_update`` allows, else the old one expires
        and the new one gets a new id.
        """

        def add(conn: sqlite3.Connection) -> tuple[Silence, list[_Notice]]:
            now = self.clock()
            stored = _store_silence(conn, silence, replaces, now=now)
            notices = []
            for incident in records.open_incidents(conn):
                if incident.silenced or not stored.mutes(incident.labels, now=now):
                    continue
                detail = f"silence {stored.id} by {stored.created_by}"
                event = Event(at=now, event="silenced", by=stored.created_by, detail=detail)
                flagged = records.save(conn, Change(_muted(incident), (event,)))
                notices.append(_Notice(flagged, "silenced"))
            return stored, notices

        return await self._change(add)

    async def expire_silence(self, silence_id: int) -> Silence:
        """End a silence now; ``NotFound`` when there is none."""
        now = self.clock()
        return await self.write(lambda conn: silences.expire(conn, silence_id, now=now))

    async def silences(self) -> list[Silence]:
        """Every silence, newest first."""
        return await self.read(silences.listing)


def _store_silence(
    conn: sqlite3.Connection, silence: Silence, replaces: int | None, *, now: float
) -> Silence:
    if replaces is None:
        return silences.insert(conn, silence)
    old = silences.get(conn, replaces)
    if silences.can_update(old, silence, now=now):
        return silences.update(conn, replaces, silence, now=now)
    silences.expire(conn, replaces, now=now)
    return silences.insert(conn, silence)


def _storage_failure(err: BaseException) -> bool:
    """Whether ``err`` says the file cannot be written (rather than a bug or a bad query)."""
    if isinstance(err, OSError):
        return True
    text = str(err).lower()
    return any(
        words in text
        for words in ("disk is full", "readonly", "read-only", "disk i/o", "unable to open")
    )


def _gone(incident: Incident, now: float) -> Alert:
    """The ``resolved`` report an open rule incident missed."""
    return Alert(
        fingerprint=incident.fingerprint,
        state="resolved",
        labels=dict(incident.labels),
        annotations=dict(incident.annotations),
        value=incident.value,
        at=now,
        resolved_at=now,
    )


def _muted(incident: Incident) -> Incident:
    return replace(incident, silenced=True)
