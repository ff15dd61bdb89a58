"""Alertmanager API v2 documents (its OpenAPI shapes) from aiwatch's incidents and silences."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from aiwatch.config.model import Route
from aiwatch.incidents.lifecycle import Incident, rfc3339
from aiwatch.incidents.silences import Silence
from aiwatch.matchers import Matcher

ROOT_RECEIVER = "aiwatch"
"""The receiver of alerts no notification route matches (the root route's, in Alertmanager)."""
RESOLVE_TIMEOUT = 300.0
"""Alertmanager's default ``resolve_timeout``: the ``endsAt`` shown for an alert without one."""


_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over ``name 0xff value 0xff``
    for each label in name order (not the XXH64 of Prometheus that incidents carry)."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), labels[name].encode()):
            for byte in part + b"\xff":
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


@dataclass(frozen=True)
class AlertView:
    """One open incident as an Alertmanager alert: who gets it and what mutes it."""

    incident: Incident
    updated_at: float
    receivers: tuple[str, ...]
    silenced_by: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """Alertmanager's fingerprint of the alert's labels."""
        return fingerprint(self.incident.labels)

    @property
    def state(self) -> str:
        """``suppressed`` while an active silence matches it, else ``active``."""
        return "suppressed" if self.silenced_by else "active"

    def to_json(self) -> dict[str, Any]:
        """A ``gettableAlert``."""
        incident = self.incident
        ends = incident.ends_at
        if ends is None:
            ends = self.updated_at + RESOLVE_TIMEOUT
        return {
            "labels": dict(incident.labels),
            "annotations": dict(incident.annotations),
            "startsAt": rfc3339(incident.started_at),
            "endsAt": rfc3339(ends),
            "updatedAt": rfc3339(self.updated_at),
            "generatorURL": incident.generator_url,
            "fingerprint": self.fingerprint,
            "receivers": [{"name": name} for name in self.receivers],
            "status": {
                "state": self.state,
                "silencedBy": list(self.silenced_by),
                "inhibitedBy": [],
            },
        }


def matcher_json(matcher: Matcher) -> dict[str, Any]:
    """A ``matcher`` object: name, value, isRegex, isEqual."""
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": matcher.op in ("=~", "!~"),
        "isEqual": matcher.op in ("=", "=~"),
    }


def silence_json(silence: Silence, *, now: float) -> dict[str, Any]:
    """A ``gettableSilence``; the id is aiwatch's silence id as a string."""
    return {
        "id": str(silence.id),
        "status": {"state": silence.state(now)},
        "updatedAt": rfc3339(silence.updated_at),
        "matchers": [matcher_json(m) for m in silence.matchers],
        "startsAt": rfc3339(silence.starts_at),
        "endsAt": rfc3339(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
    }


def sort_silences(found: Sequence[Silence], *, now: float) -> list[Silence]:
    """Alertmanager's order: active by end, then pending by start, then expired, latest first."""

    def key(silence: Silence) -> tuple[int, float]:
        state = silence.state(now)
        if state == "active":
            return 0, silence.ends_at
        if state == "pending":
            return 1, silence.starts_at
        return 2, -silence.ends_at

    return sorted(found, key=key)


def groups_json(views: Sequence[AlertView]) -> list[dict[str, Any]]:
    """``alertGroups``: one group per receiver, with no group labels (no ``group_by``)."""
    by_receiver: dict[str, list[dict[str, Any]]] = {}
    for view in views:
        for name in view.receivers:
            by_receiver.setdefault(name, []).append(view.to_json())
    return [
        {"labels": {}, "receiver": {"name": name}, "alerts": alerts}
        for name, alerts in sorted(by_receiver.items())
    ]


def receiver_names(routes: Sequence[Route]) -> list[str]:
    """Every receiver: the root one, then each notification route's, in config order."""
    names = [ROOT_RECEIVER]
    names.extend(r.name for r in routes if r.name not in names)
    return names


def config_yaml(routes: Sequence[Route]) -> str:
    """aiwatch's notification routes as an Alertmanager configuration (``config.original``).

    Each route is a child of the root route with its matchers and ``continue``; receivers
    have no integrations here (aiwatch delivers through Apprise), so the document is valid
    for Alertmanager but sends nothing there.
    """
    children: list[dict[str, Any]] = []
    for route in routes:
        child: dict[str, Any] = {"receiver": route.name}
        if route.matchers:
            child["matchers"] = list(route.matchers)
        if route.continue_:
            child["continue"] = True
        children.append(child)
    root: dict[str, Any] = {"receiver": ROOT_RECEIVER}
    if children:
        root["routes"] = children
    doc = {"route": root, "receivers": [{"name": n} for n in receiver_names(routes)]}
    text: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return text


def version_info(version: str, python: str) -> dict[str, str]:
    """``versionInfo``: aiwatch's version; ``goVersion`` names the Python that runs it."""
    return {
        "version": version,
        "revision": "",
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": f"python{python}",
    }
