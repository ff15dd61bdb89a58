"""What a notification says about an incident, independent of how the store keeps it."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["firing", "acknowledged", "resolved", "silenced", "repeat", "escalation"]
"""What a notification is about: an incident event, a reminder, or an escalation."""

EVENT_KINDS: frozenset[str] = frozenset({"firing", "acknowledged", "resolved", "silenced"})


@dataclass(frozen=True)
class Facts:
    """An incident as messages and routing see it; times are Unix seconds."""

    id: int
    alertname: str
    labels: dict[str, str]
    started_at: float
    state: str = "firing"
    severity: str = "none"
    annotations: dict[str, str] = field(default_factory=dict)
    value: float | None = 0.0
    """None (or NaN) when the alert carried no value: pushed through ``/api/v2/alerts``."""
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    generator_url: str = ""
    silenced: bool = False
    previous_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict, the inverse of ``from_any``."""
        return {
            "id": self.id,
            "alertname": self.alertname,
            "labels": self.labels,
            "started_at": self.started_at,
            "state": self.state,
            "severity": self.severity,
            "annotations": self.annotations,
            "value": self.value,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "generator_url": self.generator_url,
            "silenced": self.silenced,
            "previous_id": self.previous_id,
        }


def _time(value: Any) -> float | None:
    """Unix seconds from a number, a ``datetime`` or an ISO-8601 string."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _value(raw: Any) -> float | None:
    if raw is None:
        return None
    value = float(raw)
    return None if math.isnan(value) else value


def _get(source: Any, name: str, default: Any = None) -> Any:
    if isinstance(source, Mapping):
        return source.get(name, default)
    return getattr(source, name, default)


def from_any(incident: Any) -> Facts:
    """Read an incident record (a mapping or an object with the API's field names)."""
    labels = dict(_get(incident, "labels") or {})
    state = str(_get(incident, "state", "firing"))
    silenced = _get(incident, "silenced", False)
    return Facts(
        id=int(_get(incident, "id")),
        alertname=str(_get(incident, "alertname") or labels.get("alertname", "")),
        labels=labels,
        started_at=_time(_get(incident, "started_at")) or 0.0,
        state=state,
        severity=str(_get(incident, "severity") or labels.get("severity", "none")),
        annotations=dict(_get(incident, "annotations") or {}),
        value=_value(_get(incident, "value")),
        acknowledged_at=_time(_get(incident, "acknowledged_at")),
        acknowledged_by=_get(incident, "acknowledged_by"),
        resolved_at=_time(_get(incident, "resolved_at")),
        resolved_by=_get(incident, "resolved_by"),
        generator_url=str(_get(incident, "generator_url") or ""),
        silenced=bool(silenced) or state == "silenced",
        previous_id=_get(incident, "previous_id"),
    )
