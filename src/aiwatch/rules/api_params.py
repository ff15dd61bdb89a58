"""The parameters of Prometheus' query API, read and checked as Prometheus reads them.

GET puts them in the query string; Grafana also POSTs them form-encoded. Errors are 400
``bad_data`` with Prometheus' wording.
"""

import math
import re
import time
from datetime import datetime

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from aiwatch.durations import parse_duration
from aiwatch.golang.strconv import parse_float_or_none
from aiwatch.promql.engine import parse
from aiwatch.promql.storage import LabelMatcher
from aiwatch.promql.syntax import VectorSelector
from aiwatch.promql.values import PromQLError
from aiwatch.web.envelope import ApiError, fail

FORM = "application/x-www-form-urlencoded"

MIN_TIME_MS = -(2**63) // 1000 // 1000 * 1000
"""The earliest time a window reaches when ``start`` is left out (Prometheus' ``minTime``)."""
MAX_TIME_MS = (2**63 - 1) // 1000 // 1000 * 1000
"""The latest time a window reaches when ``end`` is left out (Prometheus' ``maxTime``)."""

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII)
_INT64_NS = 2**63


def invalid(name: str, message: str) -> ApiError:
    """Prometheus' 400 for a bad parameter: ``invalid parameter "name": message``."""
    return ApiError(400, "bad_data", f'invalid parameter "{name}": {message}')


async def form(request: web.Request) -> MultiDictProxy[str]:
    """The form-encoded body's parameters (POST) followed by the query string's."""
    out: MultiDict[str] = MultiDict()
    if request.method == "POST" and request.content_type == FORM:
        try:
            body = await request.post()
        except ValueError as err:
            fail(400, "bad_data", f"invalid form body: {err}")
        out.extend((k, v) for k, v in body.items() if isinstance(v, str))
    out.extend(request.query.items())
    return MultiDictProxy(out)


def time_ms(
    params: MultiDictProxy[str], name: str, default_ms: int | None = None, *, required: bool = False
) -> int:
    """Parameter ``name`` (Unix seconds or RFC 3339) in ms; now (or ``default_ms``) if absent.

    A ``required`` one (a range query's start and end) is refused when absent; an optional
    one's errors say so as Prometheus' do (``Invalid time value for …``).
    """
    text = params.get(name, "")
    if text == "" and not required:
        return round(time.time() * 1000) if default_ms is None else default_ms
    seconds = parse_float_or_none(text)
    if seconds is not None and math.isfinite(seconds) and abs(seconds) * 1000 < _INT64_NS:
        whole = math.trunc(seconds)
        return whole * 1000 + round((seconds - whole) * 1000)
    if _RFC3339.fullmatch(text):
        try:
            return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    message = f'cannot parse "{text}" to a valid timestamp'
    raise invalid(name, message if required else f"Invalid time value for '{name}': {message}")


def duration_s(params: MultiDictProxy[str], name: str) -> float | None:
    """Parameter ``name`` (seconds, or a duration such as ``15s``) in seconds; None if absent."""
    text = params.get(name, "")
    if text == "":
        return None
    seconds = parse_float_or_none(text)
    if seconds is not None and not math.isnan(seconds):
        if abs(seconds * 1e9) >= _INT64_NS:
            raise invalid(name, f'cannot parse "{text}" to a valid duration. It overflows int64')
        return seconds
    try:
        return parse_duration(text)
    except ValueError:
        pass
    raise invalid(name, f'cannot parse "{text}" to a valid duration')


def selectors(params: MultiDictProxy[str]) -> list[tuple[LabelMatcher, ...]]:
    """Each ``match[]`` series selector's matchers."""
    out = []
    for text in params.getall("match[]", []):
        try:
            expr = parse(text)
        except PromQLError as err:
            raise invalid("match[]", str(err)) from None
        if not isinstance(expr, VectorSelector) or expr.offset_ms or expr.at is not None:
            raise invalid("match[]", f'"{text}" is not a series selector')
        out.append(tuple(expr.matchers))
    return out
