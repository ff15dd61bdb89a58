"""The notifier: turns incident changes into outbox rows, and the outbox into deliveries.

It never runs on the caller's time: ``on_incident`` only writes rows and wakes the
sender; delivery, reminders and retries happen in ``run``, its own task.
"""

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiwatch.config.model import Config
from aiwatch.incidents.timeline import Timeline
from aiwatch.notify import outbox
from aiwatch.notify.deliver import DEFAULT_TIMEOUT, deliver, destinations
from aiwatch.notify.facts import Facts, from_any
from aiwatch.notify.messages import render
from aiwatch.notify.routing import Planned, Routed, compile_routes, next_route, plan
from aiwatch.notify.schedule import Clock, Watch, due, next_due, system_clock
from aiwatch.storage.migrations import atomic

log = logging.getLogger("aiwatch.notify")

T = TypeVar("T")

MAX_IDLE = 1.0  # how long the sender sleeps at most between looks at the clock
CONCURRENCY = 8
KEEP_SENT = 7 * 86400.0  # sent rows stay this long (enough for anyone asking what went out)
PRUNE_EVERY = 3600.0


class Store(Protocol):
    """What the notifier needs from the incident store: its writer and reader threads."""

    async def write(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(db)`` in the writer thread, in a transaction."""

    async def read(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(db)`` where it may read."""


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did, for metrics and the timeline."""

    row: outbox.Row
    error: str | None
    sent_at: float
    dropped: bool = False
    """Given up without an attempt (its route was removed): not a failed delivery."""


Observer = Callable[[Outcome], None]


class Notifier:
    """The notifications of one daemon."""

    def __init__(
        self,
        *,
        store: Store,
        config: Callable[[], Config],
        timeline: Timeline | None = None,
        observe: Observer | None = None,
        clock: Clock = system_clock,
        time_limit: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._store = store
        self._config = config
        self._timeline = timeline
        self.observe = observe
        self._clock = clock
        self._time_limit = time_limit
        self._wake = asyncio.Event()
        self._routes_for: tuple[Any, tuple[Routed, ...]] = ((), ())
        self.backlog = 0
        self._pruned_at = 0.0
        """The outbox backlog as of the last pass (for the queue-length gauge)."""
        self._failing: set[str] = set()
        """Routes whose last delivery failed: logged when they fail and when they recover."""

    def routes(self) -> tuple[Routed, ...]:
        """The current config's routes, parsed once per config."""
        routes = self._config().notifications.routes
        if self._routes_for[0] is not routes:
            self._routes_for = (routes, compile_routes(routes))
        return self._routes_for[1]

    def _render(self, facts: Facts, planned: Planned, now: float) -> outbox.Queued:
        config = self._config()
        route = next((r.route for r in self.routes() if r.name == planned.route), None)
        templates = [config.notifications.templates]
        if route is not None:
            templates.insert(0, route.templates)
        message = render(
            facts,
            kind=planned.kind,
            route=planned.route,
            now=now,
            templates=templates,
            external_url=config.external_url,
            seq=planned.seq,
        )
        return outbox.Queued(planned=planned, incident_id=facts.id, message=message, event_at=now)

    def _watched_routes(self, facts: Facts, planned: Sequence[Planned]) -> list[str]:
        by_name = {r.name: r.route for r in self.routes()}
        return [
            p.route
            for p in planned
            if p.kind == "firing"
            and (by_name[p.route].repeat_interval or by_name[p.route].escalate_after is not None)
        ]

    def record(self, db: Any, incident: Any, event: str) -> bool:
        """Queue what this incident change must tell, inside the caller's transaction.

        For a store that runs hooks in its writer thread, in the same transaction as the
        incident change: then no committed change can miss its notification. Returns
        whether anything was written (the caller then calls ``wake`` on the loop).
        """
        facts = from_any(incident)
        now = self._clock()
        planned = plan(self.routes(), facts, event)
        if event in ("acknowledged", "resolved") and not facts.silenced:
            planned += self._to_escalated(db, facts.id, event, planned)
        queued = [self._render(facts, p, now) for p in planned]
        watch = self._watched_routes(facts, planned)
        stops = event in ("acknowledged", "resolved", "silenced") or facts.silenced
        if queued:
            outbox.enqueue(db, queued, now=now)
        if stops:
            outbox.unwatch(db, facts.id)
        elif watch:
            outbox.watch(db, facts, watch)
        return bool(queued or watch or stops)

    def _to_escalated(
        self, db: Any, incident_id: int, event: str, planned: Sequence[Planned]
    ) -> list[Planned]:
        """The end of an incident for the routes it was escalated to: they were paged too,
        though its labels may match none of their matchers."""
        by_name = {r.name: r.route for r in self.routes()}
        already = {p.route for p in planned}
        return [
            Planned(route=name, kind=event)
            for name in dict.fromkeys(outbox.escalated_to(db, incident_id))
            if name not in already and name in by_name and event in by_name[name].events
        ]

    async def on_incident(self, incident: Any, event: str) -> None:
        """The store's after-commit listener: queue what this change must tell, durably."""
        if await self._store.write(lambda db: self.record(db, incident, event)):
            self._wake.set()

    def _watches(self, rows: Sequence[tuple[str, Facts]]) -> list[tuple[Watch, Facts]]:
        routes = self.routes()
        out = []
        for name, facts in rows:
            routed = next((r for r in routes if r.name == name), None)
            if routed is None:
                continue
            after = next_route(routes, name)
            watch = Watch(
                incident_id=facts.id,
                route=name,
                started_at=facts.started_at,
                repeat_interval=routed.route.repeat_interval,
                escalate_after=routed.route.escalate_after,
                escalate_to=after.name if after else None,
            )
            out.append((watch, facts))
        return out

    async def remind(self) -> float | None:
        """Queue due reminders and escalations; returns when the next one falls due."""
        now = self._clock()
        watches = self._watches(await self._store.read(outbox.watched))
        queued: list[outbox.Queued] = []
        for watch, facts in watches:
            for planned in due(watch, now):
                item = self._render(facts, planned, now)
                queued.append(item)
        if queued:
            added = await self._store.write(lambda db: outbox.enqueue(db, queued, now=now))
            if added:
                log.info("Queued reminders", extra={"count": added})
        times = [t for w, _ in watches if (t := next_due(w, now)) is not None]
        return min(times) if times else None

    async def _attempt(self, row: outbox.Row) -> Outcome:
        route = next((r.route for r in self.routes() if r.name == row.route), None)
        if route is None:
            gone = f"route {row.route!r} is no longer configured"
            now = self._clock()
            detail = f"route={row.route} {_kind(row)} result=dropped: {gone}"

            def drop(db: Any) -> None:
                outbox.mark_dropped(db, row.id, error=gone)
                self._note(db, row.incident_id, detail, now)

            await self._store.write(drop)
            return Outcome(row=row, error=gone, sent_at=now, dropped=True)
        delivered = set(row.delivered)
        errors = []
        base = os.path.dirname(self._config().path)
        for destination in destinations(route, base=base):
            if destination.key in delivered:
                continue
            failure = await deliver(destination, row.message, time_limit=self._time_limit)
            if failure is None:
                delivered.add(destination.key)
            else:
                errors.append(f"{destination.key}: {failure}")
        now = self._clock()
        error = "; ".join(errors) if errors else None
        retry_in = outbox.backoff(row.attempts + 1)
        detail = (
            f"route={row.route} {_kind(row)} attempt={row.attempts + 1} "
            f"result={'sent' if error is None else 'failed: ' + error}"
        )

        def mark(db: Any) -> None:
            if error is None:
                outbox.mark_sent(db, row.id, now=now, delivered=delivered)
            else:
                outbox.mark_failed(
                    db, row.id, now=now, delivered=delivered, error=error, retry_in=retry_in
                )
            self._note(db, row.incident_id, detail, now)

        # Shielded: once delivered, a shutdown must not keep it from being marked sent.
        await asyncio.shield(self._store.write(mark))
        return Outcome(row=row, error=error, sent_at=now)

    def _log_pass(self, outcomes: list[Outcome]) -> None:
        """Per route, one warning when it starts failing and one info line when a whole
        pass of its deliveries succeeds again; the retries in between at debug, so a dead
        receiver does not flood the log (deliveries run concurrently, so a pass is judged
        as a whole, not row by row)."""
        by_route: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            if not outcome.dropped:
                by_route.setdefault(outcome.row.route, []).append(outcome)
        for route, done in by_route.items():
            failed = [o for o in done if o.error is not None]
            extra: dict[str, object] = {"route": route}
            if not failed:
                if route in self._failing:
                    self._failing.discard(route)
                    log.info("Notification recovered: the route delivers again", extra=extra)
                continue
            level = logging.DEBUG if route in self._failing else logging.WARNING
            self._failing.add(route)
            extra |= {"incident": failed[0].row.incident_id, "err": failed[0].error}
            log.log(level, "Notification failed; will retry", extra=extra)

    def _note(self, db: Any, incident_id: int, detail: str, at: float) -> None:
        if self._timeline is None:
            return
        try:
            with atomic(db):
                self._timeline(db, incident_id, detail, at)
        except Exception:  # the timeline is a record, not a reason to resend
            log.exception("Cannot write the notified event", extra={"id": incident_id})

    async def send_due(self) -> int:
        """Attempt every row that is due now, a few at a time; returns how many."""
        rows = await self._store.read(lambda db: outbox.due(db, now=self._clock()))
        if not rows:
            return 0
        gate = asyncio.Semaphore(CONCURRENCY)

        outcomes: list[Outcome] = []

        async def one(row: outbox.Row) -> None:
            async with gate:
                outcome = await self._attempt(row)
                outcomes.append(outcome)
                if self.observe is not None:
                    self.observe(outcome)

        await asyncio.gather(*(one(r) for r in rows))
        self._log_pass(outcomes)
        return len(rows)

    async def step(self) -> float:
        """One pass: reminders, then deliveries; returns seconds until the next look."""
        next_reminder = await self.remind()
        while await self.send_due():
            pass
        next_retry = await self._store.read(outbox.next_attempt)
        self.backlog = await self.queue_length()
        now = self._clock()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await self._store.write(lambda db: outbox.prune(db, before=now - KEEP_SENT))
        wait = MAX_IDLE
        for moment in (next_reminder, next_retry):
            if moment is not None:
                wait = min(wait, max(moment - now, 0.0))
        return wait

    async def queue_length(self) -> int:
        """The outbox backlog."""
        return await self._store.read(outbox.pending_count)

    async def run(self) -> None:
        """Deliver until cancelled; a failing pass is logged and retried, never fatal."""
        while True:
            # Cleared before the pass, so a wake-up that arrives during it is not lost.
            self._wake.clear()
            try:
                wait = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Notification pass failed")
                wait = MAX_IDLE
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # races with the wake-up, and this loop would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.01)):
                    await self._wake.wait()

    def wake(self) -> None:
        """Look at the outbox now (after ``on_incident`` from elsewhere, or in tests)."""
        self._wake.set()


def _kind(row: outbox.Row) -> str:
    """``kind=…`` for the timeline; a reminder carries its number, as its title does."""
    if row.kind == "repeat":
        return f"kind=repeat reminder={row.seq}"
    return f"kind={row.kind}"
