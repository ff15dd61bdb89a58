"""When rules are evaluated: one task per group on its interval, results to the sink.

The manager only moves data: it asks the clock for time, the query function for results,
lets each ``Group`` advance its state, writes results to the store, saves the alert state
and hands alert events to the ``AlertSink``.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiwatch.clock import Clock, SystemClock
from aiwatch.rules import api
from aiwatch.rules.alerting import Alert, AlertState
from aiwatch.rules.events import AlertEvent, AlertSink, NullSink, Reconciler
from aiwatch.rules.forked import group_query
from aiwatch.rules.group import Group
from aiwatch.rules.model import GroupSpec
from aiwatch.rules.restore import SavedAlert, StateFile, not_restored, restore_rule, snapshot
from aiwatch.rules.runner import GroupRunner
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
        self._runners: dict[str, GroupRunner] = {}
        self._starter: asyncio.Task[None] | None = None
        self._started = False
        self._lock = asyncio.Lock()

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
        back = (alert.fingerprint for alert in self._active())
        self._unrestored = not_restored(saved, back, now_ms=now_ms)
        return count

    async def evaluate_group(self, group: Group, t_ms: int) -> list[AlertEvent]:
        """Evaluate ``group`` once at ``t_ms``: store results, save state, notify the sink."""
        failures_before = group.failures_total
        async with group_query(self.query, group, t_ms) as query:
            events = await group.evaluate(
                t_ms, query, self.appender, template_query=self.template_query
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

    async def start(self, *, fresh: Awaitable[object] | None = None) -> None:
        """Restore saved state, then start one task per group once ``fresh`` is done.

        ``fresh`` completes when the samples rules read are newer than the restart (see
        docs/rules.md#restarts); until then restored alerts keep their state and nothing is
        evaluated. Alerts saved as firing that did not come back are resolved only after
        every group's first evaluation, so one that fires again keeps its incident.
        """
        self.restore()
        self._starter = asyncio.create_task(self._begin(fresh), name="rules:start")
        if fresh is None:
            # Nothing to wait for: the groups are running when ``start`` returns.
            await asyncio.sleep(0)

    async def _begin(self, fresh: Awaitable[object] | None) -> None:
        if fresh is not None:
            await fresh
        async with self._lock:
            self._started = True
            self._start_runners()
            firsts = [r.first_done for r in self._runners.values()]
        if firsts:
            await asyncio.wait(firsts)
        back = {a.fingerprint for a in self._active()}
        unrestored, self._unrestored = self._unrestored, []
        await self._send([e for e in unrestored if e.fingerprint not in back])
        if isinstance(self.sink, Reconciler):
            # Whatever a crash or a failed write left behind is set straight now.
            try:
                await self.sink.reconcile(self.firing_now)
            except Exception:
                log.exception("reconciling alert sinks failed")

    def firing_now(self) -> list[AlertEvent]:
        """A ``firing`` event (``changed=False``) for every alert firing now."""
        now_ms = round(self.clock.now() * 1000)
        return [
            group.firing_event(rule, alert, now_ms)
            for group in self.groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
            if alert.state == AlertState.FIRING
        ]

    def _start_runners(self) -> None:
        for group in self.groups:
            if group.key not in self._runners:
                self._runners[group.key] = GroupRunner(group, self.evaluate_group, self.clock)

    async def stop(self) -> None:
        """Stop every group between evaluations (the saved state is then current)."""
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
        async with self._lock:
            runners, self._runners = list(self._runners.values()), {}
            self._started = False
            await asyncio.gather(*(r.stop() for r in runners))

    @staticmethod
    def _same(old: Group, new: Group, *, labels_changed: bool) -> bool:
        """Prometheus' ``Equals``: a group a reload leaves running with its state and timing.

        Unlike Prometheus, new external labels or URL count as a change (they are in the
        alerts' labels and links).
        """
        return not labels_changed and old.spec == new.spec and old.interval_ms == new.interval_ms

    async def update(
        self, specs: Sequence[GroupSpec], *, options: ManagerOptions | None = None
    ) -> None:
        """Replace the rule groups (a reload).

        Unchanged groups keep running untouched. A changed or removed group is stopped
        between two evaluations (one that is running finishes, its events delivered); its
        alerts carry over to the group replacing it, rule by rule.
        """
        async with self._lock:
            before = self.options
            if options is not None:
                self.options = options
            changed = (before.external_labels, before.external_url) != (
                self.options.external_labels,
                self.options.external_url,
            )
            old = {g.key: g for g in self.groups}
            groups = []
            for group in self._build(specs):
                previous = old.get(group.key)
                same = previous is not None and self._same(previous, group, labels_changed=changed)
                groups.append(previous if previous is not None and same else group)
            kept = {id(g) for g in groups}
            replaced = [g for g in old.values() if id(g) not in kept]
            stopping = [self._runners.pop(g.key) for g in replaced if g.key in self._runners]
            await asyncio.gather(*(r.stop() for r in stopping))
            unchanged = {id(g) for g in old.values()} & kept
            for group in groups:
                if id(group) in unchanged:
                    continue
                group.mark_restored()
                previous = old.get(group.key)
                if previous is not None:
                    group.copy_state(previous)
            self.groups = groups
            self._saved = {k: v for k, v in self._saved.items() if k in {g.key for g in groups}}
            await self._resolve_dropped(replaced)
            if self._started:
                self._start_runners()

    async def _resolve_dropped(self, old_groups: Iterable[Group]) -> None:
        """Alerts whose rule a reload removed (or changed) end now: sinks get ``resolved``.

        Otherwise an incident opened by a deleted rule would stay open for good.
        """
        kept = {alert.fingerprint for alert in self._active()}
        now_ms = round(self.clock.now() * 1000)
        gone = [
            group.resolved_event(rule, alert, now_ms)
            for group in old_groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
            if alert.fingerprint not in kept
        ]
        await self._send(gone)

    def _active(self) -> Iterator[Alert]:
        return (
            alert
            for group in self.groups
            for rule in group.alerting_rules()
            for alert in rule.active_alerts()
        )

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
