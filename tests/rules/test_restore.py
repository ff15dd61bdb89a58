"""Restoring alert state after a restart: Prometheus' outage tolerance and grace period."""

from pathlib import Path

from aiwatch.rules.alerting import AlertingRule, AlertState
from aiwatch.rules.model import RuleSpec
from aiwatch.rules.restore import SavedAlert, StateFile, restore_rule, restored_active_at_ms

MIN = 60_000
HOUR = 60 * MIN


def _saved(state: str, active_at_ms: int, saved_at_ms: int) -> SavedAlert:
    return SavedAlert(
        group="f;g",
        rule="Slow",
        state=state,
        labels=(("alertname", "Slow"), ("job", "api")),
        annotations=(("summary", "slow"),),
        value=2.0,
        active_at_ms=active_at_ms,
        fired_at_ms=active_at_ms + 30 * MIN if state == "firing" else None,
        keep_firing_since_ms=None,
        saved_at_ms=saved_at_ms,
    )


def _rule(for_minutes: int) -> AlertingRule:
    return AlertingRule(RuleSpec(kind="alert", name="Slow", expr="x", for_s=for_minutes * 60.0))


def test_pending_alert_does_not_count_the_outage() -> None:
    """Plenty of 'for' left: ActiveAt moves forward by the time aiwatch was down."""
    saved = _saved("pending", 0, 10 * MIN)
    now = 15 * MIN
    assert restored_active_at_ms(saved, hold_ms=30 * MIN, now_ms=now, grace_period_ms=10 * MIN) == (
        5 * MIN
    )


def test_pending_alert_near_firing_gets_the_grace_period() -> None:
    """Less 'for' left than the grace period: it fires exactly one grace period from now."""
    saved = _saved("pending", 0, 25 * MIN)
    now = 30 * MIN
    hold = 30 * MIN
    active = restored_active_at_ms(saved, hold_ms=hold, now_ms=now, grace_period_ms=10 * MIN)
    assert active + hold == now + 10 * MIN


def test_restore_rule_applies_tolerance_and_short_for() -> None:
    """Old state is ignored; pending alerts of a rule whose 'for' < grace period start over."""
    now = 2 * HOUR
    rule = _rule(30)
    kept = restore_rule(
        rule,
        [_saved("firing", 0, now - 5 * MIN)],
        now_ms=now,
        outage_tolerance_ms=HOUR,
        grace_period_ms=10 * MIN,
    )
    assert kept == 1
    (alert,) = rule.active_alerts()
    assert (alert.state, alert.active_at_ms, alert.fired_at_ms) == (AlertState.FIRING, 0, 30 * MIN)
    too_old = restore_rule(
        _rule(30),
        [_saved("firing", 0, now - 2 * HOUR)],
        now_ms=now,
        outage_tolerance_ms=HOUR,
        grace_period_ms=10 * MIN,
    )
    short_for = restore_rule(
        _rule(5),
        [_saved("pending", now - 6 * MIN, now - 5 * MIN)],
        now_ms=now,
        outage_tolerance_ms=HOUR,
        grace_period_ms=10 * MIN,
    )
    assert (too_old, short_for) == (0, 0)


def test_state_file_round_trip(tmp_path: Path) -> None:
    """What is saved is loaded back; a damaged file is an empty state, not a crash."""
    state = StateFile(str(tmp_path / "data"))
    entries = [_saved("firing", 0, MIN), _saved("pending", MIN, 2 * MIN)]
    state.save(entries)
    assert state.load() == entries
    Path(state.path).write_text("{not json")
    assert state.load() == []
