"""Pending and firing alerts survive a restart: saved as JSON, restored like Prometheus.

Prometheus keeps ``ALERTS_FOR_STATE`` in its TSDB and, after a restart, moves each alert's
``ActiveAt`` so that the outage does not count as pending time (``RestoreForState``):

* an alert last seen more than ``outage_tolerance`` ago is not restored;
* a pending alert with less than ``grace_period`` of its ``for`` left gets exactly
  ``grace_period`` more; otherwise its ``ActiveAt`` moves forward by the outage;
* rules whose ``for`` is shorter than ``grace_period`` are not restored at all.

aiwatch's own store is in memory, so the state is kept in ``rules-state.json`` under the
storage path instead. Because that file holds the whole state (not only ``ActiveAt``), a
firing alert within the tolerance comes back firing at once, where Prometheus would hold it
pending for two evaluations before it fires again.
"""

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiwatch.rules.alerting import Alert, AlertingRule, AlertState
from aiwatch.rules.events import AlertEvent
from aiwatch.rules.fingerprint import fingerprint, labels_hash

STATE_FILE = "rules-state.json"
_VERSION = 1


@dataclass(frozen=True)
class SavedAlert:
    """One pending or firing alert as it was at ``saved_at_ms``."""

    group: str
    rule: str
    state: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    value: float
    active_at_ms: int
    fired_at_ms: int | None
    keep_firing_since_ms: int | None
    saved_at_ms: int

    def to_json(self) -> dict[str, Any]:
        """A JSON object (non-finite values as strings)."""
        value: float | str = self.value if math.isfinite(self.value) else str(self.value)
        return {
            "group": self.group,
            "rule": self.rule,
            "state": self.state,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "value": value,
            "active_at_ms": self.active_at_ms,
            "fired_at_ms": self.fired_at_ms,
            "keep_firing_since_ms": self.keep_firing_since_ms,
            "saved_at_ms": self.saved_at_ms,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "SavedAlert":
        """The inverse of ``to_json``; ``KeyError``/``ValueError`` for a damaged entry."""
        return cls(
            group=str(raw["group"]),
            rule=str(raw["rule"]),
            state=str(raw["state"]),
            labels=tuple(sorted((str(k), str(v)) for k, v in raw["labels"].items())),
            annotations=tuple((str(k), str(v)) for k, v in raw.get("annotations", {}).items()),
            value=float(raw["value"]),
            active_at_ms=int(raw["active_at_ms"]),
            fired_at_ms=None if raw.get("fired_at_ms") is None else int(raw["fired_at_ms"]),
            keep_firing_since_ms=(
                None
                if raw.get("keep_firing_since_ms") is None
                else int(raw["keep_firing_since_ms"])
            ),
            saved_at_ms=int(raw["saved_at_ms"]),
        )


def snapshot(group_key: str, rules: Iterable[AlertingRule], t_ms: int) -> list[SavedAlert]:
    """The pending and firing alerts of one group's rules, as of evaluation ``t_ms``."""
    out = []
    for rule in rules:
        for alert in rule.active.values():
            if alert.state == AlertState.INACTIVE:
                continue
            out.append(
                SavedAlert(
                    group=group_key,
                    rule=rule.name,
                    state=str(alert.state),
                    labels=alert.labels,
                    annotations=alert.annotations,
                    value=alert.value,
                    active_at_ms=alert.active_at_ms,
                    fired_at_ms=alert.fired_at_ms,
                    keep_firing_since_ms=alert.keep_firing_since_ms,
                    saved_at_ms=t_ms,
                )
            )
    return out


class StateFile:
    """``rules-state.json`` in a directory, written atomically."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, STATE_FILE)

    def load(self) -> list[SavedAlert]:
        """Saved alerts; a missing or unreadable file is an empty state."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError):
            return []
        if not isinstance(doc, dict) or doc.get("version") != _VERSION:
            return []
        out = []
        for raw in doc.get("alerts", []):
            try:
                out.append(SavedAlert.from_json(raw))
            except (KeyError, ValueError, TypeError, AttributeError):
                continue
        return out

    def save(self, alerts: Iterable[SavedAlert]) -> None:
        """Replace the file with ``alerts``."""
        directory = os.path.dirname(self.path) or "."
        os.makedirs(directory, exist_ok=True)
        doc = {"version": _VERSION, "alerts": [a.to_json() for a in alerts]}
        fd, tmp = tempfile.mkstemp(prefix=".rules-state.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def restored_active_at_ms(
    saved: SavedAlert, *, hold_ms: int, now_ms: int, grace_period_ms: int
) -> int:
    """Prometheus' new ``ActiveAt`` for a pending alert (whole seconds, as it stores them)."""
    down_s = saved.saved_at_ms // 1000
    active_s = saved.active_at_ms // 1000
    remaining_ms = hold_ms - (down_s - active_s) * 1000
    if remaining_ms <= 0:
        return active_s * 1000
    if remaining_ms < grace_period_ms:
        return now_ms + grace_period_ms - hold_ms
    return active_s * 1000 + (now_ms - down_s * 1000)


def restore_rule(
    rule: AlertingRule,
    saved: Iterable[SavedAlert],
    *,
    now_ms: int,
    outage_tolerance_ms: int,
    grace_period_ms: int,
) -> int:
    """Put the saved alerts of ``rule`` back; how many were restored."""
    restored = 0
    for entry in saved:
        if entry.saved_at_ms < now_ms - outage_tolerance_ms:
            continue
        firing = entry.state == "firing"
        if not firing and rule.hold_ms < grace_period_ms:
            # As Prometheus: a short 'for' simply starts again.
            continue
        if firing:
            active_at = entry.active_at_ms
        else:
            active_at = restored_active_at_ms(
                entry, hold_ms=rule.hold_ms, now_ms=now_ms, grace_period_ms=grace_period_ms
            )
        alert = Alert(
            state=AlertState.FIRING if firing else AlertState.PENDING,
            labels=entry.labels,
            annotations=entry.annotations,
            value=entry.value,
            active_at_ms=active_at,
            fired_at_ms=entry.fired_at_ms if firing else None,
            keep_firing_since_ms=entry.keep_firing_since_ms if firing else None,
        )
        rule.active[labels_hash(alert.labels)] = alert
        restored += 1
    return restored


def not_restored(
    saved: Iterable[SavedAlert], restored: Iterable[str], *, now_ms: int
) -> list[AlertEvent]:
    """``resolved`` events for saved firing alerts whose fingerprint is not in ``restored``.

    Their rule is gone from the files, or the outage outlasted ``outage_tolerance``: either
    way the alert stopped, and its incident must not stay open for good (a reload sends the
    same events for the rules it removes).
    """
    back = set(restored)
    events: dict[str, AlertEvent] = {}
    for entry in saved:
        key = fingerprint(entry.labels)
        if entry.state != "firing" or key in back or key in events:
            continue
        events[key] = AlertEvent(
            group=entry.group.rpartition(";")[2],
            rule=entry.rule,
            state="resolved",
            labels=dict(entry.labels),
            annotations=dict(entry.annotations),
            value=entry.value,
            active_at=entry.active_at_ms / 1000,
            fired_at=None if entry.fired_at_ms is None else entry.fired_at_ms / 1000,
            resolved_at=now_ms / 1000,
            generator_url="",
            fingerprint=key,
            evaluated_at=now_ms / 1000,
            file=entry.group.rpartition(";")[0],
        )
    return sorted(events.values(), key=lambda e: e.fingerprint)
