"""The experiment pages: results per metric and variant with intervals, verdict, lifecycle."""

from dataclasses import dataclass
from typing import cast

from aiohttp import web

from aiwatch.app.keys import TRACKER
from aiwatch.experiments.lifecycle import ACTIONS, Action, IllegalTransition, State, transition
from aiwatch.experiments.tracker import Live
from aiwatch.pages.svg import Axis, intervals
from aiwatch.pages.view import form, page, see_other
from aiwatch.stats.result import ResultRow
from aiwatch.web.envelope import fail


@dataclass(frozen=True)
class MetricView:
    """One metric of an experiment: its rows and their intervals on one axis."""

    name: str
    rows: tuple[ResultRow, ...]
    axis: Axis | None


def metric_views(live: Live) -> list[MetricView]:
    """The result rows grouped by metric, in the config's order, with the lifts' intervals."""
    result = live.result()
    out = []
    for metric in live.config.metrics:
        rows = tuple(r for r in result.results if r.metric == metric.name)
        drawn = [
            (r.variant, r.ci[0], r.lift, r.ci[1])
            for r in rows
            if r.ci is not None and r.lift is not None
        ]
        out.append(MetricView(metric.name, rows, intervals(drawn)))
    return out


def allowed(state: State) -> list[Action]:
    """The lifecycle moves ``state`` allows (the buttons shown)."""
    out = []
    for action in ACTIONS:
        try:
            transition(state, action)
        except IllegalTransition:
            continue
        out.append(action)
    return out


def _live(request: web.Request) -> Live:
    name = request.match_info["name"]
    live = request.app[TRACKER].live.get(name)
    if live is None:
        fail(404, "not_found", f"no configured experiment named {name!r}")
    return live


async def experiments_page(request: web.Request) -> web.Response:
    """GET /experiments: every configured experiment, its state and verdict."""
    lives = list(request.app[TRACKER].live.values())
    return page(request, "experiments.html", {"experiments": lives})


async def experiment_page(request: web.Request) -> web.Response:
    """GET /experiments/{name}."""
    live = _live(request)
    context = {
        "live": live,
        "result": live.result(),
        "metrics": metric_views(live),
        "actions": allowed(live.state),
    }
    return page(request, "experiment.html", context)


async def experiment_action(request: web.Request) -> web.Response:
    """POST /experiments/{name}/{start,pause,stop}: the tracker's move, as the API makes it."""
    live = _live(request)
    await form(request)
    action = cast(Action, request.match_info["action"])
    try:
        await request.app[TRACKER].act(live.config.name, action)
    except IllegalTransition as err:
        fail(409, "bad_data", str(err))
    see_other(request, f"/experiments/{live.config.name}")
