"""Alertmanager forwarding: firing and resolved alerts POSTed the way Prometheus sends them.

Prometheus' rules (``rules/alerting.go`` and ``notifier``): an alert is sent when it
starts firing, when it resolves, and again each ``resend_delay``; while firing its
``endsAt`` is a valid-until of 4 × max(resend delay, evaluation interval) so Alertmanager
resolves it by itself if we stop; a resolved alert keeps being sent for 15 minutes so a
restarted Alertmanager still learns about the resolution. External labels are added
where the alert has no label of that name.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from aiwatch.config.model import Config
from aiwatch.notify.schedule import Clock, system_clock
from aiwatch.rules.events import AlertEvent

log = logging.getLogger("aiwatch.notify.forward")

RESOLVED_RETENTION = 15 * 60.0
MAX_BATCH = 256
QUEUE_CAPACITY = 10_000


@dataclass
class Tracked:
    """What the forwarder remembers about one alert instance (by fingerprint)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    generator_url: str
    resolved_at: float | None = None
    last_sent_at: float = 0.0
    valid_until: float = 0.0


def needs_sending(alert: Tracked, now: float, resend_delay: float) -> bool:
    """Prometheus' ``needsSending``: just resolved, or not sent for ``resend_delay``."""
    if alert.resolved_at is not None and alert.resolved_at > alert.last_sent_at:
        return True
    return alert.last_sent_at + resend_delay < now


def iso(ts: float) -> str:
    """RFC 3339 with milliseconds, as Alertmanager reads it."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload(alert: Tracked, external_labels: dict[str, str]) -> dict[str, Any]:
    """One alert in Alertmanager's API v2 shape."""
    labels = {**external_labels, **alert.labels}
    ends = alert.resolved_at if alert.resolved_at is not None else alert.valid_until
    return {
        "labels": labels,
        "annotations": alert.annotations,
        "startsAt": iso(alert.starts_at),
        "endsAt": iso(ends),
        "generatorURL": alert.generator_url,
    }


class AlertmanagerForwarder:
    """An ``AlertSink`` that forwards to every ``alertmanager.forward_to``; never blocks."""

    def __init__(self, *, config: Callable[[], Config], clock: Clock = system_clock) -> None:
        self._config = config
        self._clock = clock
        self._alerts: dict[str, Tracked] = {}
        self._queue: list[dict[str, Any]] = []
        self._ready = asyncio.Event()
        self.dropped = 0

    def _mark_sent(self, alert: Tracked, now: float) -> dict[str, Any]:
        config = self._config()
        delta = max(config.alertmanager.resend_delay, config.global_.evaluation_interval)
        alert.last_sent_at = now
        alert.valid_until = now + 4 * delta
        return payload(alert, config.global_.external_labels)

    def _push(self, items: Sequence[dict[str, Any]]) -> None:
        if not items or not self._config().alertmanager.forward_to:
            return
        self._queue.extend(items)
        overflow = len(self._queue) - QUEUE_CAPACITY
        if overflow > 0:  # as Prometheus does: the oldest go first
            del self._queue[:overflow]
            self.dropped += overflow
            log.warning("Alertmanager queue full; dropped alerts", extra={"count": overflow})
        self._ready.set()

    async def alerts_changed(self, events: Sequence[AlertEvent]) -> None:
        """Take one group evaluation's events; queue what must be (re)sent."""
        delay = self._config().alertmanager.resend_delay
        batch = []
        for event in events:
            if event.state == "pending":
                continue
            alert = self._alerts.get(event.fingerprint)
            if event.state == "firing":
                starts = event.fired_at if event.fired_at is not None else event.active_at
                if alert is None or alert.resolved_at is not None or alert.starts_at != starts:
                    alert = Tracked(
                        labels=dict(event.labels),
                        annotations=dict(event.annotations),
                        starts_at=starts,
                        generator_url=event.generator_url,
                    )
                    self._alerts[event.fingerprint] = alert
                alert.annotations = dict(event.annotations)
            elif alert is None:
                continue
            else:
                alert.resolved_at = event.resolved_at or event.evaluated_at
            if needs_sending(alert, event.evaluated_at, delay):
                batch.append(self._mark_sent(alert, event.evaluated_at))
        self._push(batch)

    def resend_resolved(self) -> int:
        """Re-send resolved alerts still within their 15 minutes; forget older ones."""
        now = self._clock()
        delay = self._config().alertmanager.resend_delay
        batch = []
        for fingerprint, alert in list(self._alerts.items()):
            if alert.resolved_at is None:
                continue
            if now - alert.resolved_at > RESOLVED_RETENTION:
                del self._alerts[fingerprint]
            elif needs_sending(alert, now, delay):
                batch.append(self._mark_sent(alert, now))
        self._push(batch)
        return len(batch)

    async def _post(self, session: aiohttp.ClientSession, url: str, body: Any) -> None:
        target = url.rstrip("/") + "/api/v2/alerts"
        timeout = aiohttp.ClientTimeout(total=self._config().alertmanager.timeout)
        try:
            async with session.post(target, json=body, timeout=timeout) as resp:
                if resp.status >= 300:
                    text = (await resp.text())[:200]
                    log.warning(
                        "Alertmanager refused alerts",
                        extra={"url": url, "status": resp.status, "body": text},
                    )
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("Cannot reach Alertmanager", extra={"url": url, "err": str(err)})

    async def flush(self, session: aiohttp.ClientSession) -> int:
        """Send what is queued to every Alertmanager at once; returns how many alerts."""
        sent = 0
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            urls = self._config().alertmanager.forward_to
            await asyncio.gather(*(self._post(session, u, batch) for u in urls))
            sent += len(batch)
        return sent

    async def run(self, session: aiohttp.ClientSession) -> None:
        """Send until cancelled; resolved alerts are re-sent between evaluations too."""
        while True:
            self._ready.clear()
            self.resend_resolved()
            await self.flush(session)
            delay = self._config().alertmanager.resend_delay
            # asyncio.timeout, not wait_for, which can swallow a racing cancel on Python 3.11.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(min(delay, 5.0), 0.05)):
                    await self._ready.wait()
