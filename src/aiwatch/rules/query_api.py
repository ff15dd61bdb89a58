"""``GET /api/v1/query`` over aiwatch's own samples, and ``/graph`` for alerts' source links."""

import math
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from aiwatch.app.keys import STATE
from aiwatch.golang.strconv import format_float
from aiwatch.promql.engine import parse
from aiwatch.promql.limits import LimitError
from aiwatch.promql.runner import QueryRunner
from aiwatch.promql.storage import MemoryStorage
from aiwatch.promql.values import PromQLError, Scalar, String
from aiwatch.web.envelope import fail, ok


def parse_time(text: str | None) -> float:
    """The ``time`` parameter: Unix seconds or RFC 3339; now when absent."""
    if not text:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        fail(
            400,
            "bad_data",
            f"invalid parameter 'time': {text!r} is neither Unix seconds nor RFC 3339",
        )


def _result(value: Any, t_s: float) -> dict[str, Any]:
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [t_s, format_float(value.value, "f")]}
    if isinstance(value, String):
        return {"resultType": "string", "result": [t_s, value.value]}
    return {
        "resultType": "vector",
        "result": [
            {"metric": dict(sample.labels), "value": [t_s, format_float(sample.value, "f")]}
            for sample in value
        ],
    }


def make_handlers(
    storage_key: web.AppKey[MemoryStorage], runner_key: web.AppKey[QueryRunner]
) -> tuple[Any, Any]:
    """The two handlers, reading the store on ``storage_key`` with the runner on ``runner_key``."""

    async def handle_query(request: web.Request) -> web.Response:
        """GET /api/v1/query?query=&time=: an instant query, in Prometheus' response shape."""
        query = request.query.get("query", "")
        if not query.strip():
            fail(400, "bad_data", "missing parameter 'query'")
        t_s = parse_time(request.query.get("time"))
        if not math.isfinite(t_s):
            fail(400, "bad_data", "invalid parameter 'time'")
        interval = request.app[STATE].current.global_.evaluation_interval
        try:
            value = await request.app[runner_key].query(
                parse(query),
                request.app[storage_key],
                round(t_s * 1000),
                subquery_step_ms=round(interval * 1000),
            )
        except LimitError as err:
            fail(err.status, err.error_type, str(err))
        except PromQLError as err:
            fail(400, "bad_data", str(err))
        return ok(_result(value, round(t_s, 3)))

    async def handle_graph(request: web.Request) -> web.Response:
        """GET /graph?g0.expr=: where alerts' generatorURL points; answers with the query."""
        expr = request.query.get("g0.expr", "")
        if not expr.strip():
            fail(400, "bad_data", "missing parameter 'g0.expr'")
        raise web.HTTPFound("/api/v1/query?" + urlencode({"query": expr}))

    return handle_query, handle_graph
