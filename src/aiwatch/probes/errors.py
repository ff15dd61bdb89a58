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
    "moderation_blocked": "content_filter",
    "rate_limit_exceeded": "rate_limited",
}


class ProbeFailure(Exception):
    """A probe failed for a known cause; raised inside a probe kind, caught by ``run_probe``."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type: ErrorType = error_type
        self.message = message


def code_cause(names: frozenset[str]) -> ErrorType | None:
    """The cause an OpenAI error ``code`` or ``type`` names, if a known one."""
    return next((_BY_CODE[n] for n in sorted(names) if n in _BY_CODE), None)


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
        cause = _by_status(status)
    return cause, _detail(status, names, message)


def classify_body_error(body: Any) -> tuple[ErrorType, str] | None:
    """An error object inside a 2xx JSON answer (some gateways do this), or None."""
    names, message = openai_error(body)
    if not names and not message:
        return None
    cause: ErrorType = next(
        (_BY_CODE[n] for n in sorted(names) if n in _BY_CODE), "invalid_response"
    )
    return cause, f"error in a 2xx answer: {_shorten(message) or ', '.join(sorted(names))}"


# Anthropic's error types (``{"type": "error", "error": {"type": …, "message": …}}``); the
# causes its 400s share an ``invalid_request_error`` type for are told apart by the message.
_ANTHROPIC_TYPES: dict[str, ErrorType] = {
    "overloaded_error": "overloaded",
    "rate_limit_error": "rate_limited",
    "api_error": "server_error",
}
_ANTHROPIC_MESSAGES: tuple[tuple[str, ErrorType], ...] = (
    ("prompt is too long", "context_length_exceeded"),
    ("credit balance is too low", "quota_exceeded"),
    ("content filtering policy", "content_filter"),
)


def anthropic_cause(kind: str, message: str) -> ErrorType | None:
    """The cause an Anthropic error type (and its message) names, if a known one."""
    if kind in _ANTHROPIC_TYPES:
        return _ANTHROPIC_TYPES[kind]
    lowered = message.lower()
    return next((cause for text, cause in _ANTHROPIC_MESSAGES if text in lowered), None)


def classify_anthropic(status: int, body: Any) -> tuple[ErrorType, str]:
    """The cause of a non-2xx Messages API answer: 529 and ``overloaded_error`` are
    ``overloaded``, ``rate_limit_error`` is ``rate_limited``, the rest by status class."""
    names, message = openai_error(body)
    kind = next(iter(names), "")
    cause = anthropic_cause(kind, message)
    if status == 529:
        cause = "overloaded"
    elif cause is None or (cause == "rate_limited" and status >= 500):
        cause = _by_status(status)
    return cause, _detail(status, names, message)


def gemini_cause(status: int, error: Any) -> ErrorType | None:
    """The cause a Gemini error object (``{"code", "message", "status", "details"}``) names."""
    if not isinstance(error, dict):
        return None
    name = error.get("status")
    message = str(error.get("message") or "")
    if name == "RESOURCE_EXHAUSTED" or status == 429:
        return _gemini_exhausted(error, message)
    if name == "UNAVAILABLE" and "overloaded" in message.lower():
        return "overloaded"
    if name == "INVALID_ARGUMENT" and "exceeds the maximum number of tokens" in message:
        return "context_length_exceeded"
    return None


def _gemini_exhausted(error: dict[str, Any], message: str) -> ErrorType:
    """``RESOURCE_EXHAUSTED``: a spent daily (or billing) quota, or a per-minute rate limit,
    as the ``QuotaFailure`` details (else the message) say."""
    quota_ids = [
        str(violation.get("quotaId", ""))
        for detail in error.get("details") or ()
        if isinstance(detail, dict)
        for violation in detail.get("violations") or ()
        if isinstance(violation, dict)
    ]
    if any("PerDay" in q for q in quota_ids):
        return "quota_exceeded"
    if quota_ids:
        return "rate_limited"
    return "quota_exceeded" if "billing" in message.lower() else "rate_limited"


def classify_gemini(status: int, body: Any) -> tuple[ErrorType, str]:
    """The cause of a non-2xx Gemini answer (``{"error": {"code", "message", "status"}}``)."""
    error = body.get("error") if isinstance(body, dict) else None
    cause = gemini_cause(status, error) or _by_status(status)
    names: frozenset[str] = frozenset()
    message = ""
    if isinstance(error, dict):
        names = frozenset({str(error["status"])}) if error.get("status") else frozenset()
        message = str(error.get("message") or "")
    return cause, _detail(status, names, message)


def _by_status(status: int) -> ErrorType:
    if status == 429:
        return "rate_limited"
    return "server_error" if status >= 500 else "client_error"


def _detail(status: int, names: frozenset[str], message: str) -> str:
    detail = f"HTTP {status}"
    if names:
        detail += f" ({', '.join(sorted(names))})"
    if message:
        detail += f": {_shorten(message)}"
    return detail


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
