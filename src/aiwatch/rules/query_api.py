"""``/api/v1/query``, ``/api/v1/query_range`` over aiwatch's own samples, ``/graph``, and
``/api/v1/format_query``.

Both answer GET and form-encoded POST, in Prometheus' response shape, and evaluate in the
query runner's worker threads under ``--query.timeout`` and ``--query.max-samples``.
"""

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from aiwatch.app.keys import STATE
from aiwatch.golang.strconv import format_float
from aiwatch.promql.limits import Budget, LimitError
from aiwatch.promql.pacing import give_way
from aiwatch.promql.pretty import pretty
from aiwatch.promql.ranges import MAX_POINTS, instant_or_matrix, range_query
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import MemoryStorage
from aiwatch.promql.syntax import Expr, parse_any
from aiwatch.promql.values import PromQLError, RangeVec, Scalar, SeriesRange, String, Vector
from aiwatch.rules.api_params import duration_s, form, invalid, time_ms
from aiwatch.web.envelope import fail, ok

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOOKBACK_MS = 300_000


def seconds(t_ms: int) -> float | int:
    """A timestamp as Prometheus writes it: Unix seconds, milliseconds as decimals."""
    return t_ms // 1000 if t_ms % 1000 == 0 else t_ms / 1000


def matrix_body(value: Iterable[SeriesRange]) -> str:
    """The whole success envelope of a matrix answer, as ``ok`` would write it.

    Written in a query thread, giving way to the loop between series: a dashboard panel
    over hundreds of series is tens of thousands of points, and building them as lists for
    ``json.dumps`` (on the loop) took longer than evaluating the query.
    """
    prefixes: dict[int, str] = {}
    parts = []
    for n, (labels, times, values) in enumerate(value):
        if not n % 16:
            give_way()
        metric = json.dumps(dict(labels), separators=(",", ":"))
        parts.append(f'{{"metric":{metric},"values":[{_values(prefixes, times, values)}]}}')
    result = ",".join(parts)
    return f'{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}'


def _values(prefixes: dict[int, str], times: Sequence[int], values: Sequence[float]) -> str:
    """``[t,"v"],…`` of one series; ``prefixes`` keeps each step's ``[t,"``."""
    if not all(map(prefixes.__contains__, times)):
        for t in times:
            if t not in prefixes:
                prefixes[t] = f'[{json.dumps(seconds(t))},"'
    starts = list(map(prefixes.__getitem__, times))
    if not starts:
        return ""
    # Python's repr is Go's 'f' format but for a trailing ".0", exponents, nan and inf: the
    # first is cut from the joined text (only a value can end in '.0"]'), the rest (an 'e'
    # or an 'n' in the text: timestamps have neither) are formatted one by one.
    text = '"],'.join(map(str.__add__, starts, map(repr, values))) + '"]'
    if "e" in text or "n" in text:
        numbers = [format_float(v, "f") for v in values]
        return '"],'.join(map(str.__add__, starts, numbers)) + '"]'
    return text.replace('.0"]', '"]')


def _result(value: Vector | Scalar | String, t_ms: int) -> dict[str, Any]:
    t_s = seconds(t_ms)
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [t_s, format_float(value.value, "f")]}
    if isinstance(value, String):
        return {"resultType": "string", "result": [t_s, value.value]}
    samples: Vector = value
    vector = [
        {"metric": dict(item.labels), "value": [t_s, format_float(item.value, "f")]}
        for item in samples
    ]
    return {"resultType": "vector", "result": vector}


def _expr(params: MultiDictProxy[str]) -> Expr:
    text = params.get("query", "")
    if not text.strip():
        fail(400, "bad_data", "missing parameter 'query'")
    try:
        return parse_any(text)
    except PromQLError as err:
        raise invalid("query", str(err)) from None


async def handle_format_query(request: web.Request) -> web.Response:
    """GET|POST /api/v1/format_query?query=: the expression as Prometheus formats it."""
    text = (await form(request)).get("query", "")
    try:
        return ok(pretty(text))
    except PromQLError as err:
        message = str(err)
        # Prometheus' message is the parser's alone: "1:5: parse error: …".
        prefix = f"cannot parse {text!r}: "
        raise invalid("query", message.removeprefix(prefix)) from None


async def _run(
    request: web.Request,
    runner_key: web.AppKey[QueryRunner],
    timeout_s: float | None,
    work: Callable[[Budget], Any],
) -> Any:
    try:
        return await request.app[runner_key].run(work, timeout_s=timeout_s)
    except LimitError as err:
        fail(err.status, err.error_type, str(err))
    except PromQLError as err:
        fail(400, "bad_data", str(err))


def _range_times(params: MultiDictProxy[str]) -> tuple[int, int, int]:
    """start, end and step (ms) of a range query, checked as Prometheus checks them."""
    start = time_ms(params, "start", required=True)
    end = time_ms(params, "end", required=True)
    if end < start:
        raise invalid("end", "end timestamp must not be before start time")
    step = duration_s(params, "step")
    if step is None:
        raise invalid("step", 'cannot parse "" to a valid duration')
    if step <= 0:
        raise invalid(
            "step",
            "zero or negative query resolution step widths are not accepted. "
            "Try a positive integer",
        )
    step_ns = int(step * 1e9)
    if (end - start) * 1_000_000 // step_ns > MAX_POINTS:
        msg = (
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
        fail(400, "bad_data", msg)
    return start, end, max(step_ns // 1_000_000, 1)


def make_handlers(
    storage_key: web.AppKey[MemoryStorage], runner_key: web.AppKey[QueryRunner]
) -> tuple[Handler, Handler, Handler]:
    """The query, range-query and graph handlers over ``storage_key`` with ``runner_key``."""

    def subquery_step_ms(request: web.Request) -> int:
        return round(request.app[STATE].current.global_.evaluation_interval * 1000)

    async def handle_query(request: web.Request) -> web.Response:
        """GET|POST /api/v1/query?query=&time=&timeout=: an instant query."""
        params = await form(request)
        t_ms = time_ms(params, "time")
        timeout = duration_s(params, "timeout")
        expr = _expr(params)
        storage, step = request.app[storage_key], subquery_step_ms(request)

        def work(budget: Budget) -> Any:
            value = instant_or_matrix(
                expr,
                storage,
                t_ms,
                lookback_ms=LOOKBACK_MS,
                subquery_step_ms=step,
                budget=budget,
            )
            # A matrix is written in the worker, as a range query's answer is.
            return matrix_body(cast(RangeVec, value)) if expr.type == "matrix" else value

        value = await _run(request, runner_key, timeout, work)
        if isinstance(value, str):
            return web.Response(text=value, content_type="application/json")
        return ok(_result(value, t_ms))

    async def handle_query_range(request: web.Request) -> web.Response:
        """GET|POST /api/v1/query_range?query=&start=&end=&step=&timeout=: a range query."""
        params = await form(request)
        start, end, step_ms = _range_times(params)
        timeout = duration_s(params, "timeout")
        expr = _expr(params)
        if expr.type not in ("vector", "scalar"):
            kind = "range vector" if expr.type == "matrix" else expr.type
            msg = f'invalid expression type "{kind}" for range query, must be Scalar or instant'
            fail(400, "bad_data", msg + " Vector")
        storage, sq_step = request.app[storage_key], subquery_step_ms(request)

        def work(budget: Budget) -> Any:
            matrix = range_query(
                expr,
                storage,
                start,
                end,
                step_ms,
                lookback_ms=LOOKBACK_MS,
                subquery_step_ms=sq_step,
                budget=budget,
            )
            # Written in the worker too: tens of thousands of points would hold the loop.
            return matrix_body(matrix)

        body = await _run(request, runner_key, timeout, work)
        return web.Response(text=body, content_type="application/json")

    async def handle_graph(request: web.Request) -> web.Response:
        """GET /graph?g0.expr=: where alerts' generatorURL points; answers with the query."""
        expr = request.query.get("g0.expr", "")
        if not expr.strip():
            fail(400, "bad_data", "missing parameter 'g0.expr'")
        # Relative, so that behind a proxy serving aiwatch under a path it stays there.
        raise web.HTTPFound("api/v1/query?" + urlencode({"query": expr}))

    return handle_query, handle_query_range, handle_graph
