"""A rule group: its rules evaluated in order at one timestamp, results written back."""

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote_plus

from aiwatch.rules import templates
from aiwatch.rules.alerting import Alert, AlertingRule, AlertState
from aiwatch.rules.events import AlertEvent, EventState
from aiwatch.rules.fingerprint import labels_hash
from aiwatch.rules.model import GroupSpec
from aiwatch.rules.recording import RecordingRule
from aiwatch.rules.types import (
    Appender,
    OutSample,
    QueryError,
    QueryFunc,
    QueryLimitError,
    RuleEvalError,
)

log = logging.getLogger(__name__)

_YIELD_AFTER_S = 0.01
"""A group gives other tasks a turn before its next rule once it ran this long without."""

# Prometheus' staleness marker: a NaN with this exact bit pattern.
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]

Rule = AlertingRule | RecordingRule
SeriesKey = tuple[tuple[str, str], ...]


def generator_url(external_url: str, expr: str) -> str:
    """Where an alert came from: Prometheus' table link for the expression."""
    return f"{external_url.rstrip('/')}/graph?g0.expr={quote_plus(expr)}&g0.tab=1"


class Group:
    """One group of a rule file, with the state its rules keep between evaluations."""

    def __init__(
        self,
        spec: GroupSpec,
        *,
        default_interval_s: float,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
    ) -> None:
        self.spec = spec
        self.name, self.file, self.limit = spec.name, spec.file, spec.limit
        interval_s = spec.interval_s if spec.interval_s else default_interval_s
        self.interval_ms = round(interval_s * 1000)
        self.external_url = external_url
        self.rules: list[Rule] = [
            AlertingRule(r, external_labels=external_labels, external_url=external_url)
            if r.kind == "alert"
            else RecordingRule(r)
            for r in spec.rules
        ]
        self._previous: list[dict[SeriesKey, Mapping[str, str]]] = [{} for _ in self.rules]
        self.last_evaluation_ms: int | None = None
        self.evaluation_seconds = 0.0
        self.evaluations_total = 0
        self.failures_total = 0

    @property
    def key(self) -> str:
        """Prometheus' group key, ``file;name``."""
        return f"{self.file};{self.name}"

    def eval_timestamp(self, now_ms: int) -> int:
        """The latest slot at or before ``now_ms``, offset by the group's hash like Prometheus."""
        interval_ns = self.interval_ms * 1_000_000
        offset = labels_hash((("file", self.file), ("name", self.name))) % interval_ns
        adjusted = now_ms * 1_000_000 - offset
        return (adjusted - adjusted % interval_ns + offset) // 1_000_000

    def copy_state(self, old: "Group") -> None:
        """Take over alert and staleness state from the group this one replaces (a reload).

        Rules match by name and labels, in order, as in Prometheus' ``CopyState``.
        """
        available: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
        for i, rule in enumerate(old.rules):
            available.setdefault((rule.name, rule.spec.labels), []).append(i)
        for i, rule in enumerate(self.rules):
            indexes = available.get((rule.name, rule.spec.labels))
            if not indexes:
                continue
            j = indexes.pop(0)
            self._previous[i] = old._previous[j]
            previous = old.rules[j]
            if isinstance(rule, AlertingRule) and isinstance(previous, AlertingRule):
                rule.active.update(previous.active)
        self.last_evaluation_ms = old.last_evaluation_ms
        self.evaluation_seconds = old.evaluation_seconds

    def alerting_rules(self) -> list[AlertingRule]:
        """The group's alerting rules, in file order."""
        return [r for r in self.rules if isinstance(r, AlertingRule)]

    def mark_restored(self) -> None:
        """Start writing ``ALERTS``/``ALERTS_FOR_STATE`` (after restoring, or in tests)."""
        for rule in self.alerting_rules():
            rule.restored = True

    async def evaluate(
        self,
        t_ms: int,
        query: QueryFunc,
        appender: Appender | None,
        *,
        template_query: templates.TemplateQuery | None = None,
    ) -> list[AlertEvent]:
        """Evaluate every rule at ``t_ms`` in order; return the alert events it produced."""
        started = paused = time.perf_counter()
        events: list[AlertEvent] = []
        for index, rule in enumerate(self.rules):
            rule_started = time.perf_counter()
            if rule_started - paused > _YIELD_AFTER_S:
                # Let probes and requests run between rules: a group over thousands of
                # targets would otherwise hold the event loop for its whole evaluation.
                await asyncio.sleep(0)
                rule_started = paused = time.perf_counter()
            self.evaluations_total += 1
            before = (
                {k: replace(a) for k, a in rule.active.items()}
                if isinstance(rule, AlertingRule)
                else {}
            )
            try:
                samples = await query(rule.spec.expr, t_ms)
                if isinstance(rule, AlertingRule):
                    out = rule.evaluate(t_ms, samples, limit=self.limit, query=template_query)
                else:
                    out = rule.evaluate(t_ms, samples, limit=self.limit)
            except (QueryError, RuleEvalError) as err:
                if isinstance(err, QueryLimitError):
                    log.warning(
                        "Rule evaluation stopped at a query limit",
                        extra={"rule": rule.name, "group": self.name, "err": str(err)},
                    )
                rule.health, rule.last_error = "err", str(err)
                self.failures_total += 1
                if isinstance(rule, AlertingRule):
                    events += self._events(rule, before, t_ms)
            except Exception as err:
                # An engine bug must not stop the other rules of the group.
                log.exception("rule %s of group %s failed", rule.name, self.name)
                rule.health, rule.last_error = "err", f"internal error: {err!r}"
                self.failures_total += 1
                if isinstance(rule, AlertingRule):
                    events += self._events(rule, before, t_ms)
            else:
                rule.health, rule.last_error = "ok", None
                if isinstance(rule, AlertingRule):
                    events += self._events(rule, before, t_ms)
                if appender is not None:
                    self.write(index, rule, out, t_ms, appender)
            finally:
                rule.last_evaluation_ms = t_ms
                rule.evaluation_seconds = time.perf_counter() - rule_started
        self.last_evaluation_ms = t_ms
        self.evaluation_seconds = time.perf_counter() - started
        return events

    def write(
        self, index: int, rule: Rule, out: list[OutSample], t_ms: int, appender: Appender
    ) -> None:
        """Append rule ``index``'s output at ``t_ms`` and stale markers for series it dropped."""
        returned: dict[SeriesKey, Mapping[str, str]] = {}
        rejected = False
        for sample in out:
            try:
                appender.append(sample.labels, sample.t_ms, sample.value)
            except ValueError as err:
                # As in Prometheus the rule turns unhealthy; the other samples still count.
                rule.health, rule.last_error = "err", str(err)
                rejected = True
            else:
                returned[tuple(sorted(sample.labels.items()))] = sample.labels
        if rejected:
            self.failures_total += 1
        for key, labels in self._previous[index].items():
            if key not in returned:
                # Another rule may have written this series at t_ms; Prometheus ignores that.
                with contextlib.suppress(ValueError):
                    appender.append(labels, t_ms, STALE_NAN)
        self._previous[index] = returned

    def _event(
        self, rule: AlertingRule, alert: Alert, state: EventState, t_ms: int, *, changed: bool
    ) -> AlertEvent:
        return AlertEvent(
            group=self.name,
            rule=rule.name,
            state=state,
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
            value=alert.value,
            active_at=alert.active_at_ms / 1000,
            fired_at=None if alert.fired_at_ms is None else alert.fired_at_ms / 1000,
            resolved_at=None if state != "resolved" else t_ms / 1000,
            generator_url=generator_url(self.external_url, rule.spec.expr),
            fingerprint=alert.fingerprint,
            evaluated_at=t_ms / 1000,
            changed=changed,
            file=self.file,
        )

    def firing_event(self, rule: AlertingRule, alert: Alert, t_ms: int) -> AlertEvent:
        """A repeat of a firing alert, as an evaluation sends it (for reconciliation)."""
        return self._event(rule, alert, "firing", t_ms, changed=False)

    def resolved_event(self, rule: AlertingRule, alert: Alert, t_ms: int) -> AlertEvent:
        """The ``resolved`` event of an alert whose rule is gone (a reload removed it)."""
        return self._event(rule, alert, "resolved", t_ms, changed=True)

    def _events(self, rule: AlertingRule, before: dict[int, Alert], t_ms: int) -> list[AlertEvent]:
        events = []
        for key, alert in rule.active.items():
            prev = before.get(key)
            prev_state = prev.state if prev is not None else AlertState.INACTIVE
            if alert.state == AlertState.FIRING:
                events.append(
                    self._event(
                        rule, alert, "firing", t_ms, changed=prev_state != AlertState.FIRING
                    )
                )
            elif alert.state == AlertState.PENDING:
                if (
                    prev is None
                    or prev_state != alert.state
                    or prev.active_at_ms != alert.active_at_ms
                ):
                    events.append(self._event(rule, alert, "pending", t_ms, changed=True))
            elif alert.state == AlertState.INACTIVE and prev_state != AlertState.INACTIVE:
                events.append(self._event(rule, alert, "resolved", t_ms, changed=True))
        for key, prev in before.items():
            if key not in rule.active and prev.state != AlertState.INACTIVE:
                events.append(self._event(rule, prev, "resolved", t_ms, changed=True))
        events.sort(key=lambda e: e.fingerprint)
        return events
