"""Prometheus' alerting-rule state machine: inactive → pending → firing → resolved.

Pure: ``AlertingRule.evaluate`` takes the query result at one timestamp and returns the
``ALERTS``/``ALERTS_FOR_STATE`` samples to write back. Timestamps are milliseconds.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

from aiwatch.rules import templates
from aiwatch.rules.fingerprint import fingerprint, labels_hash
from aiwatch.rules.model import RuleSpec
from aiwatch.rules.types import OutSample, QueriedSample, RuleEvalError

ALERT_METRIC = "ALERTS"
FOR_STATE_METRIC = "ALERTS_FOR_STATE"
# How long a resolved alert stays in memory (and is re-sent), as in Prometheus.
RESOLVED_RETENTION_MS = 15 * 60 * 1000

LabelSet = tuple[tuple[str, str], ...]


class AlertState(IntEnum):
    """Ordered so that ``max`` gives a rule's overall state."""

    INACTIVE = 0
    PENDING = 1
    FIRING = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass
class Alert:
    """One instance of an alerting rule (one label set)."""

    state: AlertState
    labels: LabelSet
    annotations: LabelSet
    value: float
    active_at_ms: int
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    last_sent_at_ms: int | None = None
    valid_until_ms: int | None = None
    keep_firing_since_ms: int | None = None

    @property
    def fingerprint(self) -> str:
        """Prometheus' hash of the label set, as hex."""
        return fingerprint(self.labels)

    def needs_sending(self, t_ms: int, resend_delay_ms: int) -> bool:
        """Prometheus' ``needsSending``: firing or resolved, and due again."""
        if self.state == AlertState.PENDING:
            return False
        if self.resolved_at_ms is not None and (
            self.last_sent_at_ms is None or self.resolved_at_ms > self.last_sent_at_ms
        ):
            return True
        last = self.last_sent_at_ms if self.last_sent_at_ms is not None else -(2**62)
        return last + resend_delay_ms < t_ms


def _with(labels: Mapping[str, str], **extra: str) -> dict[str, str]:
    out = dict(labels)
    out.update(extra)
    return out


class AlertingRule:
    """An ``alert:`` rule with its active alerts, keyed by label-set hash."""

    def __init__(
        self,
        spec: RuleSpec,
        *,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.hold_ms = round(spec.for_s * 1000)
        self.keep_firing_for_ms = round(spec.keep_firing_for_s * 1000)
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self.active: dict[int, Alert] = {}
        # Like Prometheus, ALERTS_FOR_STATE is only written once 'for' state was restored.
        self.restored = False
        self.health = "unknown"
        self.last_error: str | None = None
        self.last_evaluation_ms: int | None = None
        self.evaluation_seconds = 0.0

    def _candidates(
        self,
        samples: Sequence[QueriedSample],
        t_ms: int,
        query: templates.TemplateQuery | None,
    ) -> dict[int, Alert]:
        found: dict[int, Alert] = {}
        expander = templates.Expander(
            alert_name=self.name,
            external_labels=self.external_labels,
            external_url=self.external_url,
            t_ms=t_ms,
            query=query,
        )
        for sample in samples:
            metric = dict(sample.labels)
            builder = {k: v for k, v in metric.items() if k != "__name__"}
            for name, text in self.spec.labels:
                expanded = expander.expand(text, labels=metric, value=sample.value)
                # Like labels.Builder.Set: an empty value removes the label.
                if expanded:
                    builder[name] = expanded
                else:
                    builder.pop(name, None)
            builder["alertname"] = self.name
            annotations = tuple(
                (name, expander.expand(text, labels=metric, value=sample.value))
                for name, text in self.spec.annotations
            )
            labels = tuple(sorted(builder.items()))
            key = labels_hash(labels)
            if key in found:
                msg = "vector contains metrics with the same labelset after applying alert labels"
                raise RuleEvalError(msg)
            found[key] = Alert(
                state=AlertState.PENDING,
                labels=labels,
                annotations=annotations,
                value=sample.value,
                active_at_ms=t_ms,
            )
        return found

    def evaluate(
        self,
        t_ms: int,
        samples: Sequence[QueriedSample],
        *,
        limit: int = 0,
        query: templates.TemplateQuery | None = None,
    ) -> list[OutSample]:
        """Advance every alert to ``t_ms`` given the expression's result; Prometheus' ``Eval``.

        Raises ``RuleEvalError`` (state untouched) for duplicate label sets, and after
        dropping every alert of this rule when ``limit`` is exceeded.
        """
        found = self._candidates(samples, t_ms, query)
        for key, candidate in found.items():
            current = self.active.get(key)
            if current is not None and current.state != AlertState.INACTIVE:
                current.value = candidate.value
                current.annotations = candidate.annotations
                continue
            self.active[key] = candidate

        out: list[OutSample] = []
        counted = 0
        for key, alert in list(self.active.items()):
            if key not in found:
                keep_firing = False
                if alert.state == AlertState.FIRING and self.keep_firing_for_ms > 0:
                    if alert.keep_firing_since_ms is None:
                        alert.keep_firing_since_ms = t_ms
                    keep_firing = t_ms - alert.keep_firing_since_ms < self.keep_firing_for_ms
                if alert.state == AlertState.PENDING or (
                    alert.resolved_at_ms is not None
                    and t_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS
                ):
                    del self.active[key]
                if alert.state != AlertState.INACTIVE and not keep_firing:
                    alert.state = AlertState.INACTIVE
                    alert.resolved_at_ms = t_ms
                if not keep_firing:
                    continue
            else:
                alert.keep_firing_since_ms = None
            counted += 1
            if alert.state == AlertState.PENDING and t_ms - alert.active_at_ms >= self.hold_ms:
                alert.state = AlertState.FIRING
                alert.fired_at_ms = t_ms
            if self.restored:
                out.append(self._series(alert, t_ms))
                out.append(self._for_state(alert, t_ms))

        if 0 < limit < counted:
            self.active = {}
            msg = f"exceeded limit of {limit} with {counted} alerts"
            raise RuleEvalError(msg)
        return out

    def _base_labels(self, alert: Alert) -> dict[str, str]:
        merged = {k: v for k, v in self.spec.labels if v}
        merged.update(alert.labels)
        return merged

    def _series(self, alert: Alert, t_ms: int) -> OutSample:
        labels = _with(
            self._base_labels(alert),
            __name__=ALERT_METRIC,
            alertname=self.name,
            alertstate=str(alert.state),
        )
        return OutSample(labels, t_ms, 1.0)

    def _for_state(self, alert: Alert, t_ms: int) -> OutSample:
        labels = _with(self._base_labels(alert), __name__=FOR_STATE_METRIC, alertname=self.name)
        # Prometheus stores ActiveAt in whole seconds.
        return OutSample(labels, t_ms, float(math.floor(alert.active_at_ms / 1000)))

    def state(self) -> AlertState:
        """The highest state among this rule's alerts."""
        return max((a.state for a in self.active.values()), default=AlertState.INACTIVE)

    def active_alerts(self) -> list[Alert]:
        """Copies of the alerts that are pending or firing (not resolved)."""
        return [replace(a) for a in self.active.values() if a.resolved_at_ms is None]

    def all_alerts(self) -> list[Alert]:
        """Copies of every alert kept in memory, resolved ones included."""
        return [replace(a) for a in self.active.values()]

    def alerts_to_send(self, t_ms: int, *, resend_delay_ms: int, interval_ms: int) -> list[Alert]:
        """Prometheus' ``sendAlerts``: mark and return what would go to Alertmanager now."""
        sent = []
        delta = max(resend_delay_ms, interval_ms)
        for alert in self.active.values():
            if alert.needs_sending(t_ms, resend_delay_ms):
                alert.last_sent_at_ms = t_ms
                alert.valid_until_ms = t_ms + 4 * delta
                sent.append(replace(alert))
        return sent
