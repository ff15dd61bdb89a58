"""When rules are evaluated: one task per group on its interval, results to the sink.

The manager only moves data: it asks the clock for time, the query function for results,
lets each ``Group`` advance its state, writes results to the store, saves the alert state
and hands alert events to the ``AlertSink``.
"""

import asyncio
import contextlib
import glob
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiwatch.clock import Clock, SystemClock
from aiwatch.rules import api
from aiwatch.rules.events import AlertEvent, AlertSink, NullSink
from aiwatch.rules.files import load_rule_file
from aiwatch.rules.group import Group
from aiwatch.rules.model import GroupSpec
from aiwatch.rules.restore import SavedAlert, StateFile, not_restored, restore_rule, snapshot
from aiwatch.rules.templates import TemplateQuery
from aiwatch.rules.types import Appender, QueryFunc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManagerOptions:
    """Settings shared by all groups (Prometheus' flag defaults)."""

    evaluation_interval_s: float = 15.0
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    outage_tolerance_s: float = 3600.0
    grace_period_s: float = 600.0
    resend_delay_s: float = 60.0


@dataclass(frozen=True)
class ActiveAlert:
    """One pending or firing alert, for the ``aiwatch_alerts`` gauge."""

    labels: dict[str, str]
    state: str


@dataclass(frozen=True)
class GroupStats:
    """What ``/metrics`` shows about one group."""

    name: str
    file: str
    interval_s: float
    last_duration_s: float
    last_evaluation: float | None
    evaluations_total: int
    failures_total: int


# Called after every group evaluation with the group name and its duration in seconds.
EvaluationObserver = Callable[[str, float], None]


def expand_rule_files(patterns: Sequence[str], *, base_dir: str = ".") -> list[str]:
    """Rule file globs, relative to ``base_dir``, to sorted file names."""
    files: list[str] = []
    for pattern in patterns:
        path = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
        files += sorted(glob.glob(path))
    return files


def load_groups(patterns: Sequence[str], *, base_dir: str = ".") -> list[GroupSpec]:
    """Every group of every rule file the globs match; ``RuleFileError`` on problems."""
    specs: list[GroupSpec] = []
    for path in expand_rule_files(patterns, base_dir=base_dir):
        specs += load_rule_file(path)
    return specs


class RuleManager:
    """Evaluates rule groups on schedule and keeps what the API and metrics need."""

    def __init__(
        self,
        specs: Sequence[GroupSpec],
        *,
        query: QueryFunc,
        appender: Appender | None,
        sink: AlertSink | None = None,
        options: ManagerOptions | None = None,
        clock: Clock | None = None,
        state_dir: str | None = None,
        template_query: TemplateQuery | None = None,
        on_evaluated: EvaluationObserver | None = None,
    ) -> None:
        self.options = options or ManagerOptions()
        self.query, self.appender = query, appender
        self.sink: AlertSink = sink or NullSink()
        self.clock: Clock = clock or SystemClock()
        self.template_query = template_query
        self.on_evaluated = on_evaluated
        self.state = StateFile(state_dir) if state_dir else None
        self.groups = self._build(specs)
        self._saved: dict[str, list[SavedAlert]] = {}
        self._unrestored: list[AlertEvent] = []
        # Per group name, across reloads: the counter behind the failures metric.
        self.failures_total: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def _build(self, specs: Sequence[GroupSpec]) -> list[Group]:
        return [
            Group(
                spec,
                default_interval_s=self.options.evaluation_interval_s,
                external_labels=self.options.external_labels,
                external_url=self.options.external_url,
            )
            for spec in specs
        ]

    def restore(self) -> int:
        """Bring back saved alerts (see ``restore``); how many came back."""
        count = 0
        saved = self.state.load() if self.state else []
        now_ms = round(self.clock.now() * 1000)
        for group in self.groups:
            for rule in group.alerting_rules():
                mine = [s for s in saved if s.group == group.key and s.rule == rule.name]
                count += restore_rule(
                    rule,
                    mine,
                    now_ms=now_ms,
                    outage_tolerance_ms=round(self.options.outage_tolerance_s * 1000),
                    grace_period_ms=round(self.options.grace_period_s * 1000),
                )
            group.mark_restored()
            self._saved[group.key] = [s for s in saved if s.group == group.key]
        back = (
            alert.fingerprint
            for group in self.groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
        )
        self._unrestored = not_restored(saved, back, now_ms=now_ms)
        return count

    async def evaluate_group(self, group: Group, t_ms: int) -> list[AlertEvent]:
        """Evaluate ``group`` once at ``t_ms``: store results, save state, notify the sink."""
        failures_before = group.failures_total
        events = await group.evaluate(
            t_ms, self.query, self.appender, template_query=self.template_query
        )
        failed = group.failures_total - failures_before
        self.failures_total[group.name] = self.failures_total.get(group.name, 0) + failed
        resend_ms = round(self.options.resend_delay_s * 1000)
        for rule in group.alerting_rules():
            rule.alerts_to_send(t_ms, resend_delay_ms=resend_ms, interval_ms=group.interval_ms)
        if self.on_evaluated is not None:
            self.on_evaluated(group.name, group.evaluation_seconds)
        if self.state is not None:
            self._saved[group.key] = snapshot(group.key, group.alerting_rules(), t_ms)
            try:
                self.state.save(a for saved in self._saved.values() for a in saved)
            except OSError as err:
                log.warning("saving alert state failed: %s", err)
        if events:
            try:
                await self.sink.alerts_changed(events)
            except Exception:
                log.exception("alert sink failed on %d events", len(events))
        return events

    async def _run(self, group: Group) -> None:
        interval = group.interval_ms
        next_ms = group.eval_timestamp(round(self.clock.now() * 1000)) + interval
        while True:
            await self.clock.sleep(max(0.0, next_ms / 1000 - self.clock.now()))
            try:
                await self.evaluate_group(group, next_ms)
            except Exception:
                log.exception("evaluating rule group %s failed", group.name)
            now_ms = round(self.clock.now() * 1000)
            next_ms += interval
            if now_ms >= next_ms + interval:
                # Missed slots are skipped, as Prometheus does, keeping the alignment.
                next_ms += (now_ms - next_ms) // interval * interval

    async def start(self) -> None:
        """Restore saved state, resolve what did not come back, start one task per group."""
        self.restore()
        unrestored, self._unrestored = self._unrestored, []
        await self._send(unrestored)
        self._tasks = [
            asyncio.create_task(self._run(g), name=f"rules:{g.key}") for g in self.groups
        ]

    async def stop(self) -> None:
        """Stop every group task (the saved state is already current)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def update(
        self, specs: Sequence[GroupSpec], *, options: ManagerOptions | None = None
    ) -> None:
        """Replace the rule groups (a reload), keeping the state of unchanged rules."""
        running = bool(self._tasks)
        await self.stop()
        if options is not None:
            self.options = options
        old = {g.key: g for g in self.groups}
        self.groups = self._build(specs)
        for group in self.groups:
            group.mark_restored()
            previous = old.get(group.key)
            if previous is not None:
                group.copy_state(previous)
        self._saved = {k: v for k, v in self._saved.items() if k in {g.key for g in self.groups}}
        await self._resolve_dropped(old.values())
        if running:
            self._tasks = [
                asyncio.create_task(self._run(g), name=f"rules:{g.key}") for g in self.groups
            ]

    async def _resolve_dropped(self, old_groups: Iterable[Group]) -> None:
        """Alerts whose rule a reload removed (or changed) end now: sinks get ``resolved``.

        Otherwise an incident opened by a deleted rule would stay open for good.
        """
        kept = {
            alert.fingerprint
            for group in self.groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
        }
        now_ms = round(self.clock.now() * 1000)
        gone = [
            group.resolved_event(rule, alert, now_ms)
            for group in old_groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
            if alert.fingerprint not in kept
        ]
        await self._send(gone)

    async def _send(self, events: list[AlertEvent]) -> None:
        """Hand events that no evaluation produced to the sink (never raises)."""
        if events:
            try:
                await self.sink.alerts_changed(events)
            except Exception:
                log.exception("alert sink failed on %d events", len(events))

    def rules_data(self, *, rule_type: str | None = None) -> dict[str, Any]:
        """``GET /api/v1/rules`` data (``rule_type``: ``alert`` or ``record`` filters)."""
        return api.rules_data(self.groups, rule_type=rule_type)

    def alerts_data(self) -> dict[str, Any]:
        """``GET /api/v1/alerts`` data."""
        return api.alerts_data(self.groups)

    def active_alerts(self) -> list[ActiveAlert]:
        """Every pending and firing alert with its labels (``alertname`` included)."""
        return [
            ActiveAlert(dict(alert.labels), str(alert.state))
            for group in self.groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
        ]

    def group_stats(self) -> list[GroupStats]:
        """Per-group evaluation figures for ``/metrics``."""
        return [
            GroupStats(
                name=g.name,
                file=g.file,
                interval_s=g.interval_ms / 1000,
                last_duration_s=g.evaluation_seconds,
                last_evaluation=None
                if g.last_evaluation_ms is None
                else g.last_evaluation_ms / 1000,
                evaluations_total=g.evaluations_total,
                failures_total=g.failures_total,
            )
            for g in self.groups
        ]
