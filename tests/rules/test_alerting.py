"""The alert state machine, driven directly with query results (times in milliseconds)."""

import pytest

from aiwatch.rules.alerting import RESOLVED_RETENTION_MS, AlertingRule, AlertState
from aiwatch.rules.model import RuleSpec
from aiwatch.rules.types import Result, RuleEvalError

MIN = 60_000


def _rule(**kw: object) -> AlertingRule:
    spec = RuleSpec(kind="alert", name="A", expr="x > 0", **kw)  # type: ignore[arg-type]
    rule = AlertingRule(spec)
    rule.restored = True
    return rule


def _up(*instances: str, value: float = 1.0) -> list[Result]:
    return [Result({"__name__": "x", "instance": i}, value) for i in instances]


def test_pending_then_firing_after_for() -> None:
    """An alert is pending until it has been active for ``for``, then firing."""
    rule = _rule(for_s=120.0)
    rule.evaluate(0, _up("a"))
    assert rule.state() == AlertState.PENDING
    rule.evaluate(MIN, _up("a"))
    assert rule.state() == AlertState.PENDING
    rule.evaluate(2 * MIN, _up("a"))
    (alert,) = rule.active_alerts()
    assert (alert.state, alert.active_at_ms, alert.fired_at_ms) == (AlertState.FIRING, 0, 2 * MIN)
    assert dict(alert.labels) == {"alertname": "A", "instance": "a"}


def test_resolved_alert_kept_for_retention_then_dropped() -> None:
    """A resolved alert stays (inactive) for 15 minutes, then leaves memory."""
    rule = _rule()
    rule.evaluate(0, _up("a"))
    rule.evaluate(MIN, [])
    (alert,) = rule.all_alerts()
    assert (alert.state, alert.resolved_at_ms) == (AlertState.INACTIVE, MIN)
    assert rule.active_alerts() == []
    rule.evaluate(MIN + RESOLVED_RETENTION_MS, [])
    assert len(rule.all_alerts()) == 1
    rule.evaluate(2 * MIN + RESOLVED_RETENTION_MS, [])
    assert rule.all_alerts() == []


def test_refiring_after_resolve_starts_a_new_alert() -> None:
    """An alert that comes back after resolving is a new pending alert with a new ActiveAt."""
    rule = _rule(for_s=60.0)
    rule.evaluate(0, _up("a"))
    rule.evaluate(MIN, _up("a"))
    rule.evaluate(2 * MIN, [])
    rule.evaluate(3 * MIN, _up("a"))
    (alert,) = rule.active_alerts()
    assert (alert.state, alert.active_at_ms) == (AlertState.PENDING, 3 * MIN)


def test_keep_firing_for_holds_and_resets() -> None:
    """keep_firing_for keeps firing through short gaps and resets when the condition returns."""
    rule = _rule(keep_firing_for_s=120.0)
    rule.evaluate(0, _up("a"))
    rule.evaluate(MIN, [])
    assert rule.state() == AlertState.FIRING
    rule.evaluate(2 * MIN, _up("a"))
    rule.evaluate(3 * MIN, [])
    rule.evaluate(4 * MIN, [])
    assert rule.state() == AlertState.FIRING
    rule.evaluate(5 * MIN, [])
    assert rule.state() == AlertState.INACTIVE


def test_duplicate_label_sets_leave_state_alone() -> None:
    """Two samples with one label set after templating: an error, and nothing changes."""
    spec = RuleSpec(kind="alert", name="A", expr="x", labels=(("instance", "all"),))
    rule = AlertingRule(spec)
    rule.evaluate(0, _up("a"))
    before = rule.all_alerts()
    with pytest.raises(RuleEvalError, match="same labelset"):
        rule.evaluate(MIN, _up("a", "b"))
    assert rule.all_alerts() == before


def test_limit_exceeded_drops_every_alert_of_the_rule() -> None:
    """Over the group limit: an error, and the rule forgets all its alerts."""
    rule = _rule()
    rule.evaluate(0, _up("a", "b"), limit=2)
    assert len(rule.active_alerts()) == 2
    with pytest.raises(RuleEvalError, match="exceeded limit of 2 with 3 alerts"):
        rule.evaluate(MIN, _up("a", "b", "c"), limit=2)
    assert rule.all_alerts() == []


def test_alert_series_and_for_state_samples() -> None:
    """ALERTS carries alertstate; ALERTS_FOR_STATE carries ActiveAt in whole seconds."""
    rule = _rule(for_s=60.0)
    out = rule.evaluate(90_500, _up("a"))
    by_name = {s.labels["__name__"]: s for s in out}
    assert by_name["ALERTS"].labels["alertstate"] == "pending"
    assert by_name["ALERTS_FOR_STATE"].value == 90.0
    assert AlertingRule(rule.spec).evaluate(0, _up("a")) == []


def test_sending_marks_valid_until() -> None:
    """Firing alerts are due to send; ValidUntil is four resend delays (or intervals) ahead."""
    rule = _rule()
    rule.evaluate(0, _up("a"))
    sent = rule.alerts_to_send(0, resend_delay_ms=MIN, interval_ms=15_000)
    assert [a.valid_until_ms for a in sent] == [4 * MIN]
    assert rule.alerts_to_send(30_000, resend_delay_ms=MIN, interval_ms=15_000) == []
