"""The JSON data of each event type, built from the features' own records."""

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiwatch.probes.result import ProbeResult
from aiwatch.rules.events import AlertEvent


def rfc3339(ts: float | None) -> str | None:
    """Unix seconds as RFC 3339 UTC with milliseconds (``…Z``), None for None."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def incident_data(incident: Mapping[str, Any], change: str) -> dict[str, Any]:
    """An ``incident`` event: what changed, and the incident's API document (no timeline)."""
    return {"change": change, "incident": dict(incident)}


def alert_data(event: AlertEvent) -> dict[str, Any]:
    """An ``alert`` event: one alert instance's state transition."""
    return {
        "state": event.state,
        "alertname": event.labels.get("alertname", event.rule),
        "group": event.group,
        "labels": dict(event.labels),
        "annotations": dict(event.annotations),
        "value": _finite(event.value),
        "fingerprint": event.fingerprint,
        "active_at": rfc3339(event.active_at),
        "fired_at": rfc3339(event.fired_at),
        "resolved_at": rfc3339(event.resolved_at),
    }


def probe_data(result: ProbeResult) -> dict[str, Any]:
    """A ``probe`` event: one scheduled probe's outcome and timings (no request or reply)."""
    return {
        "target": result.target,
        "success": result.success,
        "error_type": result.error_type,
        "error": result.error,
        "status_code": result.status_code,
        "duration_seconds": result.duration,
        "time_to_first_token_seconds": result.time_to_first_token,
        "time_per_output_token_seconds": result.time_per_output_token,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks],
        "finished_at": rfc3339(result.finished_at),
    }
