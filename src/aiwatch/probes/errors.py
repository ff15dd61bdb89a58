"""The error taxonomy: map status codes, OpenAI error bodies and client exceptions to a cause."""

import ssl
from typing import Any

import aiohttp

from aiwatch.probes.result import ErrorType

# OpenAI puts the machine-readable cause in ``code`` and sometimes only in ``type``
# (``insufficient_quota`` appears in both); Azure OpenAI says ``content_filter``.
_BY_CODE: dict[str, ErrorType] = {
    "insufficient_quota": "quota_exceeded",
    "context_length_exceeded": "context_length_exceeded",
    "string_above_max_length": "context_length_exceeded",
    "content_filter": "content_filter",
    "content_policy_violation": "content_filter",
    "rate_limit_exceeded": "rate_limited",
}


class ProbeFailure(Exception):
    """A probe failed for a known cause; raised inside a probe kind, caught by ``run_probe``."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type: ErrorType = error_type
        self.message = message


def openai_error(body: Any) -> tuple[frozenset[str], str]:
    """The ``code``/``type`` values and the message of an OpenAI-shaped error body, if any."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return frozenset(), error
    if not isinstance(error, dict):
        return frozenset(), ""
    names = frozenset(str(error[k]) for k in ("code", "type") if error.get(k) is not None)
    message = error.get("message")
    return names, message if isinstance(message, str) else ""


def classify_status(status: int, body: Any) -> tuple[ErrorType, str]:
    """The cause of a non-2xx answer from its status and (parsed JSON) body, with a message."""
    names, message = openai_error(body)
    cause: ErrorType | None = next((_BY_CODE[n] for n in sorted(names) if n in _BY_CODE), None)
    if cause is None or (cause == "rate_limited" and status >= 500):
        if status == 429:
            cause = "rate_limited"
        elif status >= 500:
            cause = "server_error"
        else:
            cause = "client_error"
    detail = f"HTTP {status}"
    if names:
        detail += f" ({', '.join(sorted(names))})"
    if message:
        detail += f": {_shorten(message)}"
    return cause, detail


def classify_body_error(body: Any) -> tuple[ErrorType, str] | None:
    """An error object inside a 2xx JSON answer (some gateways do this), or None."""
    names, message = openai_error(body)
    if not names and not message:
        return None
    cause: ErrorType = next(
        (_BY_CODE[n] for n in sorted(names) if n in _BY_CODE), "invalid_response"
    )
    return cause, f"error in a 2xx answer: {_shorten(message) or ', '.join(sorted(names))}"


def classify_exception(exc: BaseException) -> tuple[ErrorType, str]:
    """The cause of a client-side exception: timeouts, refused/reset connections, DNS, TLS."""
    if isinstance(exc, TimeoutError):
        return "timeout", "timed out"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "connection", f"TLS error: {_shorten(str(exc))}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "connection", f"DNS lookup failed: {_shorten(str(exc))}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection", f"cannot connect: {_shorten(str(exc.os_error))}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "connection", f"response body broken: {_shorten(str(exc))}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "invalid_response", f"malformed HTTP response: {_shorten(exc.message)}"
    if isinstance(exc, aiohttp.ClientConnectionError | ConnectionError):
        return "connection", f"connection failed: {_shorten(str(exc)) or type(exc).__name__}"
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return "client_error", f"invalid request: {_shorten(str(exc))}"
    return "invalid_response", f"unexpected {type(exc).__name__}: {_shorten(str(exc))}"


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
