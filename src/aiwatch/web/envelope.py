"""Prometheus' JSON envelope: ``{"status": "success", "data": …}`` or an error with its type."""

import json
from typing import Any, Literal, NoReturn

from aiohttp import web

ErrorType = Literal[
    "bad_data",
    "not_found",
    "unauthorized",
    "forbidden",
    "internal",
    "method_not_allowed",
    "too_large",
    "unavailable",
    "execution",
    "timeout",
    "canceled",
]


def body_limit(request: web.Request) -> int:
    """The largest request body the app accepts."""
    limit: int = getattr(request, "_client_max_size", 0)
    return limit


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


def ok(data: Any, *, status: int = 200) -> web.Response:
    """A success envelope around ``data``."""
    return web.json_response({"status": "success", "data": data}, status=status, dumps=_dumps)


def fail(status: int, error_type: ErrorType, message: str) -> NoReturn:
    """Stop the handler with an error envelope."""
    raise ApiError(status, error_type, message)


class ApiError(web.HTTPException):
    """An HTTP error whose body is the JSON error envelope."""

    def __init__(self, status: int, error_type: ErrorType, message: str) -> None:
        self.status_code = status
        self.error_type, self.message = error_type, message
        body = {"status": "error", "errorType": error_type, "error": message}
        super().__init__(text=_dumps(body), content_type="application/json")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400 ``bad_data`` naming the problem."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        fail(413, "bad_data", f"request body too large (limit {body_limit(request)} bytes)")
    if not raw:
        fail(400, "bad_data", "request body is empty; JSON expected")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        fail(400, "bad_data", f"request body is not valid JSON: {err}")
    except RecursionError:
        # The parser recurses per nesting level; a body of "[[[[…" must not be a 500.
        fail(400, "bad_data", "request body is nested too deeply")
