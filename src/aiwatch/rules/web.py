"""The rules feature: the rule manager's lifecycle and reloads, its API and its metrics."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import aiohttp
from aiohttp import web
from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, Metric

from aiwatch import gcpause, metrics
from aiwatch.app.keys import (
    ALERT_SINKS,
    FRESH_SAMPLES,
    QUERY_RUNNER,
    RULE_EVAL_DURATIONS,
    RULE_MANAGER,
    RULE_STORAGE,
    STATE,
    Deps,
)
from aiwatch.config import Config
from aiwatch.promql.runner import QueryRunner
from aiwatch.rules import series_api
from aiwatch.rules.alerting import AlertingRule
from aiwatch.rules.build import build_manager, manager_options, rule_base_dir
from aiwatch.rules.events import AlertSink, FanOutSink, LogSink
from aiwatch.rules.files import RuleFileError, load_groups
from aiwatch.rules.manager import RuleManager
from aiwatch.rules.query_api import handle_format_query, make_handlers
from aiwatch.web.auth import READ_POSTS
from aiwatch.web.envelope import fail, ok

log = logging.getLogger("aiwatch.rules")


class RulesCollector:
    """``aiwatch_alerts`` and ``aiwatch_rule_evaluation_failures_total``, read live."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families (called at each scrape)."""
        manager = self._app.get(RULE_MANAGER)
        alerts = Metric(metrics.ALERTS.name, metrics.ALERTS.help, "gauge")
        failures = CounterMetricFamily(
            metrics.RULE_EVAL_FAILURES.name.removesuffix("_total"),
            metrics.RULE_EVAL_FAILURES.help,
            labels=["rule_group"],
        )
        if manager is not None:
            for alert in manager.active_alerts():
                labels = {**alert.labels, "alertstate": alert.state}
                alerts.add_sample(metrics.ALERTS.name, labels, 1.0)
            for group, count in sorted(manager.failures_total.items()):
                failures.add_metric([group], float(count))
        yield alerts
        yield failures


async def handle_rules(request: web.Request) -> web.Response:
    """GET /api/v1/rules[?type=alert|record]."""
    rule_type = request.query.get("type") or None
    if rule_type not in (None, "alert", "record"):
        fail(400, "bad_data", f"unsupported type {rule_type!r}: want alert or record")
    return ok(request.app[RULE_MANAGER].rules_data(rule_type=rule_type))


async def handle_alerts(request: web.Request) -> web.Response:
    """GET /api/v1/alerts."""
    return ok(request.app[RULE_MANAGER].alerts_data())


def _log_problems(err: RuleFileError, action: str) -> None:
    for problem in err.problems:
        log.error("Invalid rule file; %s", action, extra={"problem": str(problem)})


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    durations = app[RULE_EVAL_DURATIONS]
    runner = app[QUERY_RUNNER] = QueryRunner(state.options.query_limits)
    session = aiohttp.ClientSession()

    def observe(group: str, seconds: float) -> None:
        durations.labels(rule_group=group).observe(seconds)

    def sinks() -> list[AlertSink]:
        return app[ALERT_SINKS]

    def build(config: Config) -> RuleManager:
        return build_manager(
            config,
            storage=app[RULE_STORAGE],
            session=session,
            sink=FanOutSink(sinks),
            state_dir=state.options.storage_path or None,
            on_evaluated=observe,
            runner=runner,
        )

    try:
        manager = build(state.current)
    except RuleFileError as err:
        _log_problems(err, "starting without rules")
        manager = build(_without_rules(state.current))
    app[RULE_MANAGER] = manager
    _log_rules(manager)

    async def reload(config: Config) -> None:
        try:
            specs = load_groups(config.rule_files, base_dir=rule_base_dir(config))
        except RuleFileError as err:
            _log_problems(err, "keeping the previous rules")
            return
        await manager.update(specs, options=manager_options(config))
        _log_rules(manager)

    state.on_reload(reload)
    fresh = app.get(FRESH_SAMPLES)
    # With a datasource, rules read Prometheus' samples, which outlive aiwatch's restarts.
    local = state.current.datasource is None
    await manager.start(fresh=fresh.wait() if fresh is not None and local else None)
    collector = asyncio.create_task(_collect_after_start_up(fresh), name="gc")
    yield
    collector.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await collector
    # First the queries: a group stops only after its running evaluation, which then ends
    # at once (its remaining queries fail as cancelled) instead of at the query timeout.
    runner.close()
    await manager.stop()
    await session.close()


async def _collect_after_start_up(fresh: asyncio.Event | None) -> None:
    """Once start-up is over (every target probed), freeze what lives, then collect on the
    loop's schedule (``gcpause``) until shutdown."""
    if fresh is not None:
        await fresh.wait()
    count = gcpause.freeze_long_lived()
    log.debug("Start-up objects frozen for the collector", extra={"objects": count})
    await gcpause.collect_on_schedule()


def _log_rules(manager: RuleManager) -> None:
    """How many groups and rules run (``check config``'s warnings are logged at start-up)."""
    rules = [rule for group in manager.groups for rule in group.rules]
    alerting = sum(isinstance(rule, AlertingRule) for rule in rules)
    log.info(
        "Rules loaded",
        extra={
            "groups": len(manager.groups),
            "alerting_rules": alerting,
            "recording_rules": len(rules) - alerting,
        },
    )


async def _cancel_queries(app: web.Application) -> None:
    """At shutdown, before waiting for open requests: their queries stop at once."""
    runner = app.get(QUERY_RUNNER)
    if runner is not None:
        runner.cancel("api")


def _without_rules(config: Config) -> Config:
    return replace(config, rule_files=())


def setup(app: web.Application, deps: Deps) -> None:
    """Add rule evaluation: the manager, ``/api/v1/rules``, ``/api/v1/alerts``, metrics."""
    deps.alert_sinks.append(LogSink())
    registry = deps.registry
    app[RULE_EVAL_DURATIONS] = Histogram(
        metrics.RULE_EVAL_DURATION.name,
        metrics.RULE_EVAL_DURATION.help,
        ["rule_group"],
        buckets=metrics.RULE_EVAL_BUCKETS,
        registry=registry,
    )
    registry.register(RulesCollector(app))
    app.router.add_get("/api/v1/rules", handle_rules)
    app.router.add_get("/api/v1/alerts", handle_alerts)
    handle_query, handle_query_range, handle_graph = make_handlers(RULE_STORAGE, QUERY_RUNNER)
    for path, handler in (
        ("/api/v1/query", handle_query),
        ("/api/v1/query_range", handle_query_range),
        ("/api/v1/format_query", handle_format_query),
    ):
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
    for path, handler in series_api.make_handlers(RULE_STORAGE, QUERY_RUNNER).items():
        app.router.add_get(path, handler)
        if path in READ_POSTS:
            app.router.add_post(path, handler)
    app.router.add_get("/api/v1/metadata", series_api.handle_metadata)
    app.router.add_get("/api/v1/status/buildinfo", series_api.handle_buildinfo)
    app.router.add_get("/graph", handle_graph)
    app.on_shutdown.append(_cancel_queries)
    app.cleanup_ctx.append(_lifecycle)
