"""Prometheus' series, labels, metadata and build-info API over aiwatch's own samples.

``/api/v1/series``, ``/api/v1/labels`` and ``/api/v1/label/{name}/values`` read the local
store in the query runner's worker threads; ``/api/v1/metadata`` lists the metric families
``/metrics`` exposes; ``/api/v1/status/buildinfo`` says which aiwatch answers.
"""

import platform
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from aiwatch import __version__
from aiwatch.promql.limits import Budget, LimitError
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import NAME, LabelMatcher, Labels, MemoryStorage
from aiwatch.rules.api_params import MAX_TIME_MS, MIN_TIME_MS, form, selectors, time_ms
from aiwatch.web.app import metrics_chunks
from aiwatch.web.envelope import fail, ok

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EVERY_SERIES = (LabelMatcher(NAME, "=~", ".+"),)
"""Every series has a metric name: this selects them all."""

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_META = re.compile(r"# (HELP|TYPE) (\S+) ?(.*)")


def _find(
    storage: MemoryStorage,
    matchers: Sequence[tuple[LabelMatcher, ...]],
    start: int,
    end: int,
    budget: Budget,
) -> list[Labels]:
    """The label sets of the series any selector matches with a sample in ``[start, end]``."""
    found: set[Labels] = set()
    for selector in matchers or [EVERY_SERIES]:
        budget.check()
        keys = [labels for labels, _, _ in storage.select(selector, start, end)]
        budget.add(len(keys))
        found.update(keys)
    return sorted(found)


def _window(params: MultiDictProxy[str]) -> tuple[int, int]:
    return time_ms(params, "start", MIN_TIME_MS), time_ms(params, "end", MAX_TIME_MS)


def make_handlers(
    storage_key: web.AppKey[MemoryStorage], runner_key: web.AppKey[QueryRunner]
) -> dict[str, Handler]:
    """The handlers, by route, reading the store on ``storage_key`` with ``runner_key``."""

    async def series_of(
        request: web.Request, params: MultiDictProxy[str], *, required: bool
    ) -> list[Labels]:
        if required and not params.getall("match[]", []):
            fail(400, "bad_data", "no match[] parameter provided")
        start, end = _window(params)
        matchers = selectors(params)
        storage = request.app[storage_key]

        def work(budget: Budget) -> list[Labels]:
            return _find(storage, matchers, start, end, budget)

        try:
            return await request.app[runner_key].run(work)
        except LimitError as err:
            fail(err.status, err.error_type, str(err))

    async def handle_series(request: web.Request) -> web.Response:
        """GET|POST /api/v1/series?match[]=&start=&end=: the matching series' label sets."""
        found = await series_of(request, await form(request), required=True)
        return ok([dict(labels) for labels in found])

    async def handle_labels(request: web.Request) -> web.Response:
        """GET|POST /api/v1/labels?match[]=&start=&end=: label names, sorted."""
        found = await series_of(request, await form(request), required=False)
        return ok(sorted({name for labels in found for name, _ in labels}))

    async def handle_label_values(request: web.Request) -> web.Response:
        """GET /api/v1/label/{name}/values?match[]=&start=&end=: the label's values, sorted."""
        name = request.match_info["name"]
        if not _LABEL_NAME.fullmatch(name):
            fail(400, "bad_data", f'invalid label name: "{name}"')
        found = await series_of(request, await form(request), required=False)
        return ok(sorted({value for labels in found for key, value in labels if key == name}))

    return {
        "/api/v1/series": handle_series,
        "/api/v1/labels": handle_labels,
        "/api/v1/label/{name}/values": handle_label_values,
    }


def metadata(parts: Sequence[bytes]) -> dict[str, list[dict[str, str]]]:
    """Type and help of each metric family in an exposition (text format 0.0.4: no units)."""
    found: dict[str, dict[str, str]] = {}
    for part in parts:
        for line in part.decode().splitlines():
            match = _META.fullmatch(line)
            if match is None:
                continue
            kind, name, text = match.groups()
            entry = found.setdefault(name, {"type": "unknown", "help": "", "unit": ""})
            if kind == "TYPE":
                entry["type"] = text
            else:
                entry["help"] = text.replace("\\n", "\n").replace("\\\\", "\\")
    return {name: [entry] for name, entry in found.items()}


async def handle_metadata(request: web.Request) -> web.Response:
    """GET /api/v1/metadata?metric=&limit=: the exposed families' type, help and unit."""
    found = metadata([chunk async for chunk in metrics_chunks(request.app)])
    metric = request.query.get("metric", "")
    if metric:
        found = {metric: found[metric]} if metric in found else {}
    text = request.query.get("limit", "")
    if text:
        if not _INTEGER.fullmatch(text):
            fail(400, "bad_data", "limit must be a number")
        limit = int(text)
        if limit >= 0:
            found = dict(list(found.items())[:limit])
    return ok(found)


def build_info() -> dict[str, Any]:
    """Prometheus' build-info fields, filled honestly: aiwatch is Python, built from a wheel."""
    return {
        "version": __version__,
        "revision": "unknown",
        "branch": "unknown",
        "buildUser": "unknown",
        "buildDate": "unknown",
        "goVersion": "none (Python)",
        "pythonVersion": platform.python_version(),
        "application": "aiwatch",
    }


async def handle_buildinfo(_: web.Request) -> web.Response:
    """GET /api/v1/status/buildinfo."""
    return ok(build_info())
