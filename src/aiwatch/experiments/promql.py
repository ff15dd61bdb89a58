"""``source: promql`` metrics: numerator and denominator queries against ``datasource.url``.

Each query has ``$variant`` replaced by the variant's name and ``$__range`` by the time since
the experiment first ran, so it returns a total over the experiment (summed over the series it
returns). A total has no spread, so how an arm is built depends on the metric's ``kind``:

* ``proportion``: numerator = successes among the denominator's units (conversions among
  sessions), so the totals *are* the sufficient statistics: ``Proportion(n=denominator,
  successes=numerator)``, replaced at each poll.
* ``ratio``: each poll interval is one unit: the increments of both totals since the previous
  poll form a (numerator, denominator) pair, and the delta method works on those pairs. The
  estimate is still Σnumerator / Σdenominator; the variance comes from how much the interval
  ratios vary, which is honest about time-correlated traffic but needs many intervals.
* ``mean``: each poll adds one value: the interval's numerator / denominator increments, or,
  without a denominator, the numerator's current value (a gauge such as an average rating).

The previous totals live in memory, so after a restart the first poll only sets the baseline.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from aiwatch.config.model import Config, Datasource, ExperimentMetric
from aiwatch.experiments.lifecycle import collects
from aiwatch.experiments.observations import Arms
from aiwatch.experiments.tracker import Live, Tracker
from aiwatch.rules.query import DatasourceQuery
from aiwatch.rules.types import QueryError
from aiwatch.stats import Mean, Proportion, Ratio, SufficientStats

log = logging.getLogger("aiwatch.experiments")

MIN_INTERVAL = 1.0
"""The shortest poll interval, whatever ``global.evaluation_interval`` says."""


def substitute(query: str, *, variant: str, range_seconds: float) -> str:
    """``query`` with ``$variant`` and ``$__range`` (whole seconds, at least 1s) filled in."""
    seconds = max(1, math.ceil(range_seconds))
    return query.replace("$__range", f"{seconds}s").replace("$variant", variant)


@dataclass(frozen=True)
class Totals:
    """What one poll read for one arm."""

    numerator: float
    denominator: float | None


def step(metric: ExperimentMetric, now: Totals, before: Totals | None) -> SufficientStats | None:
    """What a poll adds to (``ratio``, ``mean``) or sets for (``proportion``) one arm.

    ``None`` when this poll yields nothing (the first of a ratio, a counter that went back).
    """
    if metric.kind == "proportion":
        if now.denominator is None:
            return None
        return Proportion(n=max(0, round(now.denominator)), successes=now.numerator)
    if metric.kind == "mean" and now.denominator is None:
        return Mean.from_values([now.numerator])
    if before is None or before.denominator is None or now.denominator is None:
        return None
    m, d = now.numerator - before.numerator, now.denominator - before.denominator
    if m < 0 or d <= 0:
        return None
    if metric.kind == "ratio":
        return Ratio.from_pairs([(m, d)])
    return Mean.from_values([m / d])


def datasource_query(session: aiohttp.ClientSession, datasource: Datasource) -> DatasourceQuery:
    """A query function on ``datasource`` with its credentials."""
    headers: dict[str, str] = {}
    if datasource.bearer_token is not None:
        headers["Authorization"] = f"Bearer {datasource.bearer_token.reveal()}"
    auth = None
    if datasource.basic_auth_username is not None:
        password = datasource.basic_auth_password
        auth = aiohttp.BasicAuth(
            datasource.basic_auth_username, password.reveal() if password else ""
        )
    return DatasourceQuery(
        session, datasource.url, timeout_s=datasource.timeout, headers=headers, auth=auth
    )


class Poller:
    """Reads every running experiment's PromQL metrics once per interval."""

    def __init__(self, tracker: Tracker, *, clock: Callable[[], float] = time.time) -> None:
        self.tracker = tracker
        self.clock = clock
        self.previous: dict[tuple[str, str, str], Totals] = {}

    async def poll_once(self, query: DatasourceQuery) -> None:
        """Query every arm of every running experiment with PromQL metrics."""
        for live in list(self.tracker.live.values()):
            if not collects(live.state) or live.started_at is None:
                continue
            metrics = [m for m in live.config.metrics if m.source == "promql" and m.numerator]
            if metrics:
                await self._experiment(query, live, metrics)

    async def _experiment(
        self, query: DatasourceQuery, live: Live, metrics: list[ExperimentMetric]
    ) -> None:
        now = self.clock()
        elapsed = now - (live.started_at or now)
        replaced: Arms = {}
        added: Arms = {}
        for metric in metrics:
            for variant in live.config.variants:
                try:
                    totals = await self._read(query, metric, variant.name, elapsed)
                except QueryError as err:
                    log.warning(
                        "Experiment query failed",
                        extra={
                            "experiment": live.config.name,
                            "metric": metric.name,
                            "err": str(err),
                        },
                    )
                    continue
                if totals is None:
                    continue
                key = (live.config.name, variant.name, metric.name)
                got = step(metric, totals, self.previous.get(key))
                self.previous[key] = totals
                if got is not None:
                    target = replaced if metric.kind == "proportion" else added
                    target[(variant.name, metric.name)] = got
        if replaced:
            await self.tracker.replace(live.config.name, replaced)
        if added:
            await self.tracker.observe(live.config.name, added)

    @staticmethod
    async def _read(
        query: DatasourceQuery,
        metric: ExperimentMetric,
        variant: str,
        elapsed: float,
    ) -> Totals | None:
        t_ms = int(time.time() * 1000)
        texts = [metric.numerator, metric.denominator]
        values: list[float | None] = []
        for text in texts:
            if text is None:
                values.append(None)
                continue
            samples = await query(substitute(text, variant=variant, range_seconds=elapsed), t_ms)
            if not samples:
                return None  # no series yet: nothing to say about this arm
            values.append(math.fsum(s.value for s in samples))
        numerator, denominator = values
        if numerator is None or not math.isfinite(numerator):
            return None
        if denominator is not None and not math.isfinite(denominator):
            return None
        return Totals(numerator, denominator)


async def poll(tracker: Tracker, *, config: Callable[[], Config]) -> None:
    """Poll until cancelled, every ``global.evaluation_interval`` (reloads apply at once)."""
    poller = Poller(tracker)
    async with aiohttp.ClientSession() as session:
        while True:
            current = config()
            interval = max(MIN_INTERVAL, current.global_.evaluation_interval)
            if current.datasource is not None:
                try:
                    await poller.poll_once(datasource_query(session, current.datasource))
                except Exception:
                    log.exception("Experiment PromQL poll failed")
            await asyncio.sleep(interval)
