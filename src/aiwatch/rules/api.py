"""``/api/v1/rules`` and ``/api/v1/alerts`` data in Prometheus' response shapes."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiwatch.golang.fmt import format_e_shortest
from aiwatch.rules.alerting import Alert, AlertingRule
from aiwatch.rules.group import Group

_ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(ms: int | None) -> str:
    """Go's RFC 3339 (nanosecond form) of a millisecond timestamp; Go's zero time for None."""
    if ms is None:
        return _ZERO_TIME
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}".rstrip("0")
    return text + "Z"


def alert_json(alert: Alert) -> dict[str, Any]:
    """One alert as Prometheus' API shows it."""
    out: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": str(alert.state),
        "activeAt": rfc3339(alert.active_at_ms),
        "value": format_e_shortest(alert.value),
    }
    if alert.keep_firing_since_ms is not None:
        out["keepFiringSince"] = rfc3339(alert.keep_firing_since_ms)
    return out


def _rule_json(rule: Any) -> dict[str, Any]:
    common = {
        "name": rule.name,
        "query": rule.spec.expr,
        "labels": dict(rule.spec.labels),
        "health": rule.health,
        "lastError": rule.last_error or "",
        "evaluationTime": rule.evaluation_seconds,
        "lastEvaluation": rfc3339(rule.last_evaluation_ms),
    }
    if isinstance(rule, AlertingRule):
        return {
            "state": str(rule.state()),
            **common,
            "duration": rule.hold_ms / 1000,
            "keepFiringFor": rule.keep_firing_for_ms / 1000,
            "annotations": dict(rule.spec.annotations),
            "alerts": [alert_json(a) for a in rule.active_alerts()],
            "type": "alerting",
        }
    return {**common, "type": "recording"}


def rules_data(groups: Iterable[Group], *, rule_type: str | None = None) -> dict[str, Any]:
    """The ``data`` of ``GET /api/v1/rules`` (``rule_type``: ``alert``, ``record`` or None)."""
    out = []
    for group in groups:
        rules = [
            _rule_json(r)
            for r in group.rules
            if rule_type is None or (rule_type == "alert") == isinstance(r, AlertingRule)
        ]
        if rule_type is not None and not rules:
            continue
        out.append(
            {
                "name": group.name,
                "file": group.file,
                "rules": rules,
                "interval": group.interval_ms / 1000,
                "limit": group.limit,
                "evaluationTime": group.evaluation_seconds,
                "lastEvaluation": rfc3339(group.last_evaluation_ms),
            }
        )
    return {"groups": out}


def alerts_data(groups: Iterable[Group]) -> dict[str, Any]:
    """The ``data`` of ``GET /api/v1/alerts``: every pending and firing alert."""
    alerts = [
        alert_json(alert)
        for group in groups
        for rule in group.alerting_rules()
        for alert in sorted(rule.active_alerts(), key=lambda a: a.labels)
    ]
    return {"alerts": alerts}
