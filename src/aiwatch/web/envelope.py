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

    def __init__(
        self,
        status: int,
        error_type: ErrorType,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status_code = status
        self.error_type, self.message = error_type, message
        # ``details``: keys beside the envelope's own, such as a list of every problem.
        body = {"status": "error", "errorType": error_type, "error": message, **(details or {})}
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
        value = json.loads(raw)
    except RecursionError:
        # The parser recurses per nesting level; a body of "[[[[…" must not be a 500.
        fail(400, "bad_data", "request body is nested too deeply")
    except ValueError as err:
        # JSONDecodeError, UnicodeDecodeError, and Python's guard against integers of more
        # than 4,300 digits (quadratic to convert): all the client's to fix.
        fail(400, "bad_data", f"request body is not valid JSON: {err}")
    if (where := lone_surrogate(value)) is not None:
        fail(400, "bad_data", f"request body is not valid JSON: {where}")
    return value


def lone_surrogate(value: Any, path: str = "body") -> str | None:
    """Where a string of ``value`` holds a lone UTF-16 surrogate (``"\\ud800"``), or None.

    JSON allows the escape, but such a string is no Unicode text: it cannot be written to
    SQLite, a log line or an answer, so it is refused at the door.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            return f"{path} holds a lone surrogate {value[err.start]!r}, which is not Unicode text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = lone_surrogate(key, f"{path} key") or lone_surrogate(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if (found := lone_surrogate(item, f"{path}[{i}]")) is not None:
                return found
    return None
