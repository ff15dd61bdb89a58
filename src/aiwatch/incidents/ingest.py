"""Alertmanager API v2 ``POST /api/v2/alerts`` payloads as alert reports for the store."""

import math
import re
from typing import Any

from aiwatch.incidents.lifecycle import Alert
from aiwatch.incidents.silences import InvalidSilence, parse_time
from aiwatch.rules.fingerprint import fingerprint

MAX_ALERTS = 10_000
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Go's zero time, which Prometheus and amtool send for "not set".
_ZERO_TIME = -62135596800.0


class InvalidAlerts(ValueError):
    """A payload that is not a list of Alertmanager v2 alerts; the message says where."""


def _strings(value: Any, *, where: str, names: bool) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = f"{where} must be an object of strings"
        raise InvalidAlerts(msg)
    for key, item in value.items():
        if not isinstance(item, str):
            msg = f"{where}.{key} must be a string, got {type(item).__name__}"
            raise InvalidAlerts(msg)
        if names and not _LABEL_NAME.match(key):
            msg = f"{where}: {key!r} is not a valid label name"
            raise InvalidAlerts(msg)
    return dict(value)


def _time(item: dict[str, Any], key: str, where: str) -> float | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    try:
        seconds = parse_time(value, field=f"{where}.{key}")
    except InvalidSilence as err:
        raise InvalidAlerts(str(err)) from None
    return None if seconds <= _ZERO_TIME else seconds


def parse_alerts(body: Any, *, now: float) -> list[Alert]:
    """Alert reports from a postable-alerts list; ``endsAt`` not after ``now`` = resolved."""
    if not isinstance(body, list):
        msg = "body must be a JSON list of alerts (Alertmanager API v2)"
        raise InvalidAlerts(msg)
    if len(body) > MAX_ALERTS:
        msg = f"at most {MAX_ALERTS} alerts per request"
        raise InvalidAlerts(msg)
    alerts = []
    for index, item in enumerate(body):
        where = f"alerts[{index}]"
        if not isinstance(item, dict):
            msg = f"{where} must be an object with labels"
            raise InvalidAlerts(msg)
        labels = _strings(item.get("labels"), where=f"{where}.labels", names=True)
        if not labels:
            msg = f"{where}.labels must not be empty"
            raise InvalidAlerts(msg)
        annotations = _strings(item.get("annotations"), where=f"{where}.annotations", names=False)
        url = item.get("generatorURL", "")
        if not isinstance(url, str):
            msg = f"{where}.generatorURL must be a string"
            raise InvalidAlerts(msg)
        starts = _time(item, "startsAt", where)
        ends = _time(item, "endsAt", where)
        if starts is not None and ends is not None and ends < starts:
            msg = f"{where}: endsAt is before startsAt"
            raise InvalidAlerts(msg)
        resolved = ends is not None and ends <= now
        alerts.append(
            Alert(
                fingerprint=fingerprint(labels.items()),
                state="resolved" if resolved else "firing",
                labels=labels,
                annotations=annotations,
                value=math.nan,  # Alertmanager's payload carries no value
                at=now,
                fired_at=min(starts, now) if starts is not None else now,
                resolved_at=ends if resolved else None,
                generator_url=url,
                ends_at=None if resolved else ends,
            )
        )
    return alerts
