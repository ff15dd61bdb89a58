"""A target's page: its last probes with checks and errors, sparklines, an on-demand probe."""

import json
import time
from dataclasses import dataclass

from aiohttp import web

from aiwatch import metrics
from aiwatch.app.keys import (
    ON_DEMAND,
    PAGES,
    QUERY_RUNNER,
    RULE_STORAGE,
    STATE,
    TARGET_STATES,
)
from aiwatch.config.model import Target
from aiwatch.pages.svg import Sparkline, sparkline
from aiwatch.pages.view import form, page
from aiwatch.probes.exposition import render
from aiwatch.probes.report import debug_text
from aiwatch.probes.series import ProbeSeries
from aiwatch.promql.limits import Budget, LimitError
from aiwatch.promql.ranges import Matrix, range_query
from aiwatch.promql.syntax import parse_any
from aiwatch.promql.values import PromQLError
from aiwatch.web.envelope import fail

STEP_MS = 30_000
STEPS = 60
"""The sparklines show the last 30 minutes, a point every 30 s."""
WINDOW = "1m"
LINES = (
    ("Latency", metrics.PROBE_DURATION.name),
    ("Time to first token", metrics.PROBE_TTFT.name),
    ("Time per output token", metrics.PROBE_TPOT.name),
)


@dataclass(frozen=True)
class Line:
    """One sparkline of a target's page (``picture`` None: too few samples yet)."""

    title: str
    picture: Sparkline | None


def _target(request: web.Request) -> Target:
    name = request.match_info["name"]
    found = next((t for t in request.app[STATE].current.targets if t.name == name), None)
    if found is None:
        fail(404, "not_found", f"no configured target named {name!r}")
    return found


async def _series(app: web.Application, expr_text: str, end_ms: int) -> list[float | None]:
    """The mean per step of a histogram's rate, aligned to the steps (None: no sample)."""
    runner = app.get(QUERY_RUNNER)
    if runner is None:
        return []
    expr = parse_any(expr_text)
    start_ms = end_ms - (STEPS - 1) * STEP_MS
    storage = app[RULE_STORAGE]

    def work(budget: Budget) -> Matrix:
        return range_query(
            expr, storage, start_ms, end_ms, STEP_MS, lookback_ms=300_000,
            subquery_step_ms=STEP_MS, budget=budget,
        )  # fmt: skip

    try:
        matrix = await runner.run(work)
    except (LimitError, PromQLError):
        return []
    by_time: dict[int, float] = {}
    for _, times, values in matrix[:1]:
        by_time = dict(zip(times, values, strict=True))
    return [by_time.get(start_ms + i * STEP_MS) for i in range(STEPS)]


async def sparklines(app: web.Application, name: str) -> list[Line]:
    """Latency, TTFT and TPOT of ``name`` over the local samples."""
    end_ms = int(time.time() * 1000) // STEP_MS * STEP_MS
    selector = "{target=" + json.dumps(name) + "}"
    out = []
    for title, metric in LINES:
        rate = f"rate({metric}_sum{selector}[{WINDOW}]) / rate({metric}_count{selector}[{WINDOW}])"
        out.append(Line(title, sparkline(await _series(app, rate, end_ms))))
    return out


async def _render(request: web.Request, target: Target, debug: str = "") -> web.Response:
    context = {
        "target": target,
        "state": request.app[TARGET_STATES].state(target.name),
        "probes": request.app[PAGES].recent_probes(target.name),
        "lines": await sparklines(request.app, target.name),
        "debug": debug,
    }
    return page(request, "target.html", context)


async def target_page(request: web.Request) -> web.Response:
    """GET /targets/{name}."""
    return await _render(request, _target(request))


async def probe_now(request: web.Request) -> web.Response:
    """POST /targets/{name}/probe: one on-demand probe (admins), shown as ``/probe`` debug."""
    target = _target(request)
    await form(request)
    result = await request.app[ON_DEMAND].probe(target)
    store = ProbeSeries()
    store.ensure(target)
    store.observe(result)
    return await _render(request, target, debug_text(target, result, render(store)))
