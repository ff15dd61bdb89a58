"""One HTTP exchange of a probe: the request (with its redacted summary) and what came back."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from aiwatch.config.imagefile import ImageInfo
from aiwatch.config.model import Secret, Target
from aiwatch.probes import ratelimits
from aiwatch.probes.chunks import ChunkClock
from aiwatch.probes.errors import ProbeFailure, classify_status
from aiwatch.probes.ratelimits import RateLimits
from aiwatch.probes.result import Check, ErrorType
from aiwatch.redaction import REDACTED, redact_url, redact_urls_in, url_secrets

EXCERPT_BYTES = 2048
ERROR_BODY_BYTES = 64 * 1024
MIN_SCRUBBED = 4


@dataclass(frozen=True)
class Request:
    """What a probe sends; secret header values stay ``Secret`` until the wire."""

    method: str
    url: str
    headers: tuple[tuple[str, str | Secret], ...]
    body: bytes | None = None

    def wire_headers(self) -> dict[str, str]:
        """The headers as sent, secrets revealed: only for the HTTP client."""
        return {k: v.reveal() if isinstance(v, Secret) else v for k, v in self.headers}

    def summary(self) -> str:
        """Method, URL, headers and body for debug output, secret values as ``<secret>``."""
        lines = [f"{self.method} {redact_url(self.url)}"]
        lines += [f"{k}: {REDACTED if isinstance(v, Secret) else v}" for k, v in self.headers]
        if self.body:
            lines += ["", self.body[:EXCERPT_BYTES].decode("utf-8", errors="replace")]
        return "\n".join(lines)


def headers_for(
    target: Target,
    *,
    json_body: bool,
    key_header: str | None = None,
    fixed: tuple[tuple[str, str], ...] = (),
) -> tuple[tuple[str, str | Secret], ...]:
    """Content type, ``fixed`` headers and the key as the SDKs send them (a bearer token, or
    the value of ``key_header``); configured headers override them all."""
    headers: list[tuple[str, str | Secret]] = []
    if json_body:
        headers.append(("Content-Type", "application/json"))
    headers += fixed
    if target.api_key is not None and key_header is not None:
        headers.append((key_header, Secret(target.api_key.reveal())))
    elif target.api_key is not None:
        headers.append(("Authorization", Secret("Bearer " + target.api_key.reveal())))
    if target.headers:
        names = {k.lower() for k in target.headers}
        headers = [(k, v) for k, v in headers if k.lower() not in names]
        headers += target.headers.items()
    return tuple(headers)


def json_request(
    target: Target,
    path: str,
    payload: dict[str, Any],
    *,
    key_header: str | None = None,
    fixed: tuple[tuple[str, str], ...] = (),
) -> Request:
    """A POST of ``payload`` as JSON to ``{target.url}{path}``, with the API key as bearer
    (or in ``key_header``) and the ``fixed`` headers an API requires."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = headers_for(target, json_body=True, key_header=key_header, fixed=fixed)
    return Request("POST", target.url + path, headers, body)


def secrets_of(target: Target) -> tuple[str, ...]:
    """Every secret value a probe of ``target`` may send, longest first, for scrubbing text."""
    # A URL's own pieces only when long enough to be told apart from ordinary text: shorter
    # ones are hidden with the URL around them (``scrub`` redacts every URL it finds).
    in_url = [piece for piece in url_secrets(target.url) if len(piece) >= MIN_SCRUBBED]
    values = [*in_url, *(s.reveal() for s in target.headers.values())]
    if target.api_key is not None:
        values.append(target.api_key.reveal())
    return tuple(sorted((v for v in values if v), key=len, reverse=True))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced, in case an endpoint or exception echoes it,
    and the credentials of every URL in it hidden."""
    text = redact_urls_in(text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(slots=True)
class Measurement:
    """What a probe has seen so far; filled in as bytes arrive so a timeout keeps it."""

    start: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)
    request: Request | None = None
    status: int | None = None
    time_to_first_byte: float | None = None
    time_to_first_token: float | None = None
    last_byte: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    ratelimit_remaining_requests: float | None = None
    ratelimit_remaining_tokens: float | None = None
    response_model: str | None = None
    system_fingerprint: str | None = None
    embedding_dimensions: int | None = None
    images: int | None = None
    """Image generation: how many images the answer holds."""
    image: ImageInfo | None = None
    """Image generation: the first image's format and size, read from its header."""
    text: str = ""
    """What ``contains``/``regex``/``json_schema`` look at: the body, or the reply."""
    excerpt: bytes = b""
    checks: tuple[Check, ...] = ()
    chunks: ChunkClock = field(default_factory=ChunkClock)
    """Streaming: when each content chunk arrived (``got_content``)."""
    ratelimits: RateLimits = field(default_factory=RateLimits)
    """Every rate-limit header of the answer: headroom, resets, ``retry-after``."""

    def elapsed(self) -> float:
        """Seconds since the request started."""
        return time.perf_counter() - self.start

    def got_headers(self, response: aiohttp.ClientResponse) -> None:
        """Record the status, time to first byte and the rate-limit headers."""
        self.time_to_first_byte = self.elapsed()
        self.last_byte = self.time_to_first_byte
        self.status = response.status
        self.ratelimits = ratelimits.read(response.headers, now=time.time())
        self.ratelimit_remaining_requests = self.ratelimits.remaining.get("requests")
        self.ratelimit_remaining_tokens = self.ratelimits.remaining.get("tokens")

    def got_content(self) -> None:
        """Record a content chunk (text, thinking, …) decoded from the bytes read last.

        Every streaming kind calls it once per chunk that carries content: it times the first
        token, the gaps between chunks, bursts and stalls (``aiwatch.probes.chunks``).
        """
        now = self.last_byte if self.last_byte is not None else self.elapsed()
        if self.time_to_first_token is None:
            self.time_to_first_token = now
        self.chunks.tick(now)

    def got_bytes(self, chunk: bytes) -> None:
        """Record that body bytes arrived (their time, and the start of the excerpt)."""
        self.last_byte = self.elapsed()
        if len(self.excerpt) < EXCERPT_BYTES:
            self.excerpt += chunk[: EXCERPT_BYTES - len(self.excerpt)]


async def send(
    session: aiohttp.ClientSession, request: Request, m: Measurement
) -> aiohttp.ClientResponse:
    """Send ``request`` and wait for the response headers; the caller reads and releases it."""
    m.request = request
    m.start = time.perf_counter()
    m.started_at = time.time()
    response = await session.request(
        request.method,
        request.url,
        headers=request.wire_headers(),
        data=request.body,
        allow_redirects=False,
    )
    m.got_headers(response)
    return response


async def read_body(response: aiohttp.ClientResponse, m: Measurement, limit: int) -> bytes:
    """The whole body, failing with ``invalid_response`` once it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        m.got_bytes(chunk)
        if size > limit:
            msg = f"response body larger than max_body_bytes ({limit})"
            raise ProbeFailure("invalid_response", msg)
        parts.append(chunk)
    return b"".join(parts)


async def fail_on_error_status(
    response: aiohttp.ClientResponse,
    m: Measurement,
    limit: int,
    classify: Callable[[int, Any], tuple[ErrorType, str]] = classify_status,
) -> None:
    """Raise the taxonomy's cause for a non-2xx answer, read from its body by ``classify``
    (OpenAI-shaped bodies by default)."""
    if 200 <= response.status < 300:
        return
    if response.status < 400:
        # Not an error of the endpoint: a redirect (never followed) fails the status check.
        msg = f"status: status {response.status} is not 2xx (redirects are not followed)"
        raise ProbeFailure("validation_failed", msg)
    try:
        document = json.loads(await read_body(response, m, min(limit, ERROR_BODY_BYTES)))
    except (ValueError, ProbeFailure):  # not JSON, or too long to be an error object
        document = None
    raise ProbeFailure(*classify(response.status, document))


def parse_json(body: bytes, what: str) -> Any:
    """``body`` as JSON, or an ``invalid_response`` failure naming ``what`` was expected."""
    try:
        return json.loads(body)
    except ValueError as err:
        raise ProbeFailure("invalid_response", f"{what} is not valid JSON: {err}") from None
