"""The rules engine's alert events into the incident store (an ``AlertSink``).

A batch the store cannot apply (disk full, file read-only) is kept and retried, in order,
until it is applied: a ``resolved`` is sent by the rules only once, so dropping it would
leave the incident open for good. Once the store takes writes again, it is reconciled with
the alerts firing now, which also covers what a restart lost from the queue.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiwatch.incidents.lifecycle import Alert
from aiwatch.incidents.store import IncidentStore
from aiwatch.rules.events import AlertEvent, FiringNow

log = logging.getLogger("aiwatch.incidents")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0
MAX_PENDING = 10_000
"""Batches kept while the store fails; beyond that the oldest go (reconciling repairs it)."""


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
        self._pending: list[list[Alert]] = []
        self._lock = asyncio.Lock()
        self._retrier: asyncio.Task[None] | None = None
        self._firing: FiringNow | None = None
        self._owned: set[str] = set()
        """Fingerprints of rule alerts whose incident may be open (pushed alerts are not)."""

    @property
    def pending(self) -> int:
        """Batches waiting for the store to take writes again."""
        return len(self._pending)

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Apply one group evaluation's events in one transaction (later, if it fails)."""
        # While batches wait, repeats of unchanged firing alerts add nothing worth keeping.
        self._owned.update(e.fingerprint for e in events)
        keep = [e for e in events if e.changed or not self._pending]
        alerts = [a for e in keep if (a := to_alert(e)) is not None]
        if not alerts:
            return
        self._pending.append(alerts)
        if len(self._pending) > MAX_PENDING:
            del self._pending[0]
        await self._flush()

    async def reconcile(self, firing: FiringNow) -> None:
        """Resolve open incidents of this sink's alerts that are not in ``firing()`` (and
        open the missing ones); pushed alerts' incidents are never touched."""
        self._firing = firing
        async with self._lock:
            if self._pending:
                return  # after the queue drains (see _retry)
            now = [a for e in firing() if (a := to_alert(e)) is not None]
            self._owned.update(a.fingerprint for a in now)
            owned = set(self._owned)
            changed = await self._store.reconcile(now, owned=owned)
            self._owned -= owned - {a.fingerprint for a in now}
        if changed:
            log.warning(
                "Incidents reconciled with the firing alerts",
                extra={"incidents": ",".join(str(i.id) for i in changed)},
            )

    async def _flush(self) -> bool:
        """Apply waiting batches in order; False (and a retry running) if the store fails."""
        async with self._lock:
            while self._pending:
                try:
                    await self._store.observe(self._pending[0])
                except Exception as err:
                    if self._retrier is None:
                        log.error(
                            "Cannot apply alert events to the incident store; retrying",
                            extra={"err": str(err), "batches": len(self._pending)},
                        )
                        self._retrier = asyncio.create_task(self._retry(), name="incident-retry")
                    return False
                done = self._pending.pop(0)
                self._owned.difference_update(a.fingerprint for a in done if a.state == "resolved")
        return True

    async def _retry(self) -> None:
        """Retry with backoff until the queue drains, then reconcile (runs once at a time)."""
        delay = RETRY_FIRST_S
        try:
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                if await self._flush():
                    break
        finally:
            self._retrier = None
        log.info("The incident store takes writes again; waiting alert events applied")
        if self._firing is not None:
            try:
                await self.reconcile(self._firing)
            except Exception:
                log.exception("Reconciling incidents after the store recovered failed")

    async def close(self) -> None:
        """Stop retrying (at shutdown; what is still waiting is reconciled after a restart)."""
        if self._retrier is not None:
            self._retrier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrier
            self._retrier = None
