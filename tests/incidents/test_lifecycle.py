"""The pure incident state machine, checked example by example and by Hypothesis."""

from dataclasses import replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aiwatch.incidents.lifecycle import (
    RULE,
    Alert,
    IllegalTransition,
    Incident,
    acknowledge,
    observe,
    resolve,
)

LABELS = {"alertname": "EndpointDown", "severity": "critical", "target": "captions"}


def _alert(
    state: str = "firing", *, at: float, fired_at: float | None = None, **kw: object
) -> Alert:
    return Alert(
        fingerprint="fp",
        state=state,  # type: ignore[arg-type]
        labels=kw.pop("labels", LABELS),  # type: ignore[arg-type]
        annotations=kw.pop("annotations", {"summary": "down"}),  # type: ignore[arg-type]
        value=float(kw.pop("value", 0.0)),  # type: ignore[arg-type]
        at=at,
        fired_at=fired_at if fired_at is not None else (at if state == "firing" else None),
        resolved_at=at if state == "resolved" else None,
    )


def _stored(change_incident: Incident, iid: int) -> Incident:
    return replace(change_incident, id=iid)


def test_a_firing_alert_opens_an_incident_with_severity_value_and_fired_event() -> None:
    """The first firing report opens a firing incident; severity comes from the label."""
    change = observe(_alert(at=100.0, value=3.5), current=None, latest=None, silenced=False)
    assert change is not None
    assert change.opened
    assert change.incident.state == "firing"
    assert change.incident.severity == "critical"
    assert change.incident.value == 3.5
    assert change.incident.started_at == 100.0
    assert [(e.event, e.detail) for e in change.events] == [("fired", "value 3.5")]


def test_severity_defaults_to_none() -> None:
    """An alert without a severity label opens an incident of severity ``none``."""
    change = observe(
        _alert(at=1.0, labels={"alertname": "X"}), current=None, latest=None, silenced=False
    )
    assert change is not None
    assert change.incident.severity == "none"
    assert change.incident.to_json()["severity"] == "none"


def test_repeat_of_an_unchanged_firing_alert_changes_nothing() -> None:
    """The rules engine repeats firing alerts every evaluation; that writes nothing."""
    first = observe(_alert(at=1.0), current=None, latest=None, silenced=False)
    assert first is not None
    current = _stored(first.incident, 1)
    assert (
        observe(_alert(at=2.0, fired_at=1.0), current=current, latest=current, silenced=False)
        is None
    )


def test_annotations_follow_the_alert_while_it_fires() -> None:
    """New annotation values replace the old ones on the open incident."""
    first = observe(_alert(at=1.0), current=None, latest=None, silenced=False)
    assert first is not None
    current = _stored(first.incident, 1)
    change = observe(
        _alert(at=2.0, fired_at=1.0, annotations={"summary": "still down"}),
        current=current,
        latest=current,
        silenced=False,
    )
    assert change is not None
    assert change.incident.annotations == {"summary": "still down"}
    assert change.events == ()


def test_acknowledged_then_rule_resolves_it() -> None:
    """An acknowledged incident is resolved by ``rule`` when the alert stops firing."""
    first = observe(_alert(at=1.0), current=None, latest=None, silenced=False)
    assert first is not None
    acked = acknowledge(_stored(first.incident, 1), by="alice", comment="looking", at=5.0)
    assert acked.incident.state == "acknowledged"
    assert acked.incident.acknowledged_by == "alice"
    done = observe(
        _alert("resolved", at=9.0), current=acked.incident, latest=acked.incident, silenced=False
    )
    assert done is not None
    assert done.incident.state == "resolved"
    assert done.incident.resolved_by == RULE
    assert done.incident.resolved_at == 9.0


def test_acknowledging_twice_or_after_resolve_is_illegal() -> None:
    """Only a firing incident can be acknowledged, only an open one resolved."""
    first = observe(_alert(at=1.0), current=None, latest=None, silenced=False)
    assert first is not None
    acked = acknowledge(_stored(first.incident, 1), by="a", comment="", at=2.0).incident
    with pytest.raises(IllegalTransition, match="acknowledged by a"):
        acknowledge(acked, by="b", comment="", at=3.0)
    done = resolve(acked, by="b", comment="fixed", at=4.0).incident
    with pytest.raises(IllegalTransition):
        resolve(done, by="b", comment="", at=5.0)
    with pytest.raises(IllegalTransition):
        acknowledge(done, by="b", comment="", at=5.0)


def test_person_resolve_of_a_firing_alert_reopens_linked_at_next_report() -> None:
    """A person's resolve while the alert fires: the next firing report opens a linked incident."""
    first = observe(_alert(at=1.0), current=None, latest=None, silenced=False)
    assert first is not None
    done = resolve(_stored(first.incident, 7), by="bob", comment="", at=5.0).incident
    again = observe(_alert(at=6.0, fired_at=1.0), current=None, latest=done, silenced=False)
    assert again is not None
    assert again.opened
    assert again.incident.previous_id == 7
    assert again.incident.started_at == 6.0


def test_a_late_copy_of_a_rule_resolved_episode_opens_nothing() -> None:
    """A resent firing report of an episode the rule already resolved is ignored."""
    first = observe(_alert(at=1.0), current=None, latest=None, silenced=False)
    assert first is not None
    opened = _stored(first.incident, 1)
    done = observe(_alert("resolved", at=5.0), current=opened, latest=opened, silenced=False)
    assert done is not None
    assert (
        observe(_alert(at=6.0, fired_at=1.0), current=None, latest=done.incident, silenced=False)
        is None
    )
    new = observe(_alert(at=8.0, fired_at=8.0), current=None, latest=done.incident, silenced=False)
    assert new is not None
    assert new.incident.previous_id == 1


def test_silenced_alert_is_recorded_with_a_silenced_event() -> None:
    """A silence mutes, it does not hide: the incident opens, flagged, with both events."""
    change = observe(_alert(at=1.0), current=None, latest=None, silenced=True)
    assert change is not None
    assert change.incident.silenced
    assert [e.event for e in change.events] == ["fired", "silenced"]


def test_json_shape_and_rfc3339_times() -> None:
    """The API document has the keys of docs/incidents.md and RFC 3339 UTC ``Z`` times."""
    change = observe(_alert(at=1795939200.0), current=None, latest=None, silenced=False)
    assert change is not None
    doc = replace(change.incident, id=3, timeline=change.events).to_json()
    for key in (
        "id",
        "state",
        "alertname",
        "severity",
        "labels",
        "annotations",
        "value",
        "started_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "previous_id",
        "timeline",
    ):
        assert key in doc
    assert doc["started_at"] == "2026-11-29T08:00:00Z"
    assert doc["timeline"] == [
        {"at": "2026-11-29T08:00:00Z", "event": "fired", "by": None, "detail": "value 0"}
    ]


class LifecycleMachine(RuleBasedStateMachine):
    """Random reports and actions on two alerts against a simple model of the lifecycle."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.incidents: dict[int, Incident] = {}
        self.firing: dict[str, float | None] = {"a": None, "b": None}  # episode start or None
        self.person_resolved: set[str] = set()

    def _tick(self) -> float:
        self.now += 1.0
        return self.now

    def _open(self, fp: str) -> Incident | None:
        found = [i for i in self.incidents.values() if i.fingerprint == fp and i.is_open]
        assert len(found) <= 1
        return found[0] if found else None

    def _latest(self, fp: str) -> Incident | None:
        found = [i for i in self.incidents.values() if i.fingerprint == fp]
        return max(found, key=lambda i: i.id) if found else None

    def _apply(self, change_incident: Incident, opened: bool) -> Incident:
        iid = max(self.incidents, default=0) + 1 if opened else change_incident.id
        stored = replace(change_incident, id=iid)
        self.incidents[iid] = stored
        return stored

    def _report(self, fp: str, state: str) -> None:
        at = self._tick()
        fired = self.firing[fp] if state == "firing" else None
        alert = Alert(
            fingerprint=fp,
            state=state,  # type: ignore[arg-type]
            labels={"alertname": fp.upper()},
            annotations={},
            value=1.0,
            at=at,
            fired_at=fired,
            resolved_at=at if state == "resolved" else None,
        )
        before_open, before_latest = self._open(fp), self._latest(fp)
        change = observe(alert, current=before_open, latest=before_latest, silenced=False)
        if change is not None:
            self._apply(change.incident, change.opened)
        after = self._open(fp)
        if state == "firing":
            assert after is not None, "a firing alert always has an open incident"
            if before_open is not None:
                assert after.id == before_open.id
            else:
                assert change is not None
                assert change.opened
                assert after.previous_id == (before_latest.id if before_latest else None)
        else:
            assert after is None, "an alert that stopped firing has no open incident"
            if before_open is not None:
                assert self.incidents[before_open.id].resolved_by == RULE

    @rule(fp=st.sampled_from(["a", "b"]))
    def starts_firing(self, fp: str) -> None:
        """A new episode (or a repeat of the current one)."""
        if self.firing[fp] is None:
            self.firing[fp] = self.now + 1.0
        self._report(fp, "firing")

    @rule(fp=st.sampled_from(["a", "b"]))
    @precondition(lambda self: any(v is not None for v in self.firing.values()))
    def stops_firing(self, fp: str) -> None:
        """The rule reports the alert resolved (if it was firing)."""
        if self.firing[fp] is None:
            return
        self.firing[fp] = None
        self._report(fp, "resolved")

    @rule(fp=st.sampled_from(["a", "b"]), who=st.sampled_from(["alice", "bob"]))
    def person_acknowledges(self, fp: str, who: str) -> None:
        """Only a firing incident can be taken."""
        current = self._open(fp)
        latest = current or self._latest(fp)
        if latest is None:
            return
        if latest.state != "firing":
            with pytest.raises(IllegalTransition):
                acknowledge(latest, by=who, comment="", at=self._tick())
            return
        change = acknowledge(latest, by=who, comment="on it", at=self._tick())
        stored = self._apply(change.incident, opened=False)
        assert stored.acknowledged_by == who

    @rule(fp=st.sampled_from(["a", "b"]))
    def person_resolves(self, fp: str) -> None:
        """A person closes the open incident, firing or not."""
        current = self._open(fp) or self._latest(fp)
        if current is None:
            return
        if not current.is_open:
            with pytest.raises(IllegalTransition):
                resolve(current, by="carol", comment="", at=self._tick())
            return
        change = resolve(current, by="carol", comment="done", at=self._tick())
        stored = self._apply(change.incident, opened=False)
        assert stored.resolved_by == "carol"

    @invariant()
    def fields_match_states(self) -> None:
        """Every incident's fields agree with its state, and times never go backwards."""
        for inc in self.incidents.values():
            if inc.state == "acknowledged":
                assert inc.acknowledged_at is not None
                assert inc.acknowledged_by
            if inc.state == "resolved":
                assert inc.resolved_at is not None
                assert inc.resolved_by
                assert inc.resolved_at >= inc.started_at
            else:
                assert inc.resolved_at is None
            if inc.acknowledged_at is not None:
                assert inc.acknowledged_at >= inc.started_at
            if inc.previous_id is not None:
                assert inc.previous_id < inc.id
                assert self.incidents[inc.previous_id].fingerprint == inc.fingerprint
                assert self.incidents[inc.previous_id].state == "resolved"


LifecycleMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None
)
test_lifecycle_machine = LifecycleMachine.TestCase
