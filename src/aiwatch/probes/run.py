"""Run one probe of one target: pick the kind, bound it by the timeout, never raise."""

import asyncio
import logging
import time
from typing import Any

import aiohttp

from aiwatch.config.model import Target
from aiwatch.probes import checks
from aiwatch.probes.anthropic import probe_anthropic
from aiwatch.probes.chunks import ChunkClock, StallGuard
from aiwatch.probes.embeddings import probe_embeddings
from aiwatch.probes.errors import ProbeFailure, classify_exception
from aiwatch.probes.exchange import Measurement, scrub, secrets_of
from aiwatch.probes.gemini import probe_gemini
from aiwatch.probes.http import probe_http
from aiwatch.probes.openai_chat import probe_chat
from aiwatch.probes.openai_images import probe_images
from aiwatch.probes.openai_responses import probe_responses
from aiwatch.probes.ratelimits import RateLimits
from aiwatch.probes.result import Check, ErrorType, ProbeResult
from aiwatch.redaction import redact_url

log = logging.getLogger(__name__)

_KINDS = {
    "openai_chat": probe_chat,
    "anthropic_messages": probe_anthropic,
    "openai_responses": probe_responses,
    "gemini": probe_gemini,
    "openai_images": probe_images,
    "openai_embeddings": probe_embeddings,
    "http": probe_http,
}


KEEPALIVE_S = 17.0
"""How long an idle kept-alive connection is kept for the next probe.

aiohttp's default, 15 s, equals the most common interval: a probe that started even a few
milliseconds later than its previous one ended found its connection expired and opened a new
one, so about half of a 15 s target's probes measured a connect that the others did not, and
thousands of targets churned through hundreds of connections a second. Two seconds of slack
cover a late start without keeping connections much longer than before."""


def make_session(target: Target) -> aiohttp.ClientSession:
    """A session for one target: kept-alive connections unless ``reuse_connections`` is off."""
    connector = (
        aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_S)
        if target.reuse_connections
        else aiohttp.TCPConnector(force_close=True, limit=0)
    )
    return aiohttp.ClientSession(
        connector=connector,
        # Probes are independent: no cookies carried from one to the next.
        cookie_jar=aiohttp.DummyCookieJar(),
        # run_probe bounds the whole exchange itself, headers and body alike.
        timeout=aiohttp.ClientTimeout(total=None),
    )


async def run_probe(
    target: Target, session: aiohttp.ClientSession, *, prompt_index: int = 0
) -> ProbeResult:
    """Probe ``target`` once through ``session``; bounded by ``target.timeout``, never raises.

    ``prompt_index`` picks the prompt (or embedding input) in turn, modulo their number.
    """
    m = Measurement()
    error: tuple[ErrorType, str] | None = None
    try:
        async with asyncio.timeout(target.timeout):
            if target.stream and target.stall_timeout is not None:
                async with StallGuard(m.chunks, target.stall_timeout, m.elapsed):
                    await _KINDS[target.kind](target, session, m, prompt_index=prompt_index)
            else:
                await _KINDS[target.kind](target, session, m, prompt_index=prompt_index)
    except ProbeFailure as failure:
        error = failure.error_type, failure.message
    except TimeoutError:
        error = "timeout", _timeout_message(target, m)
    except (aiohttp.ClientError, OSError) as exc:
        error = classify_exception(exc)
    except Exception as exc:  # run_probe must never raise for what an endpoint does
        log.warning("probe of %s failed unexpectedly", target.name, exc_info=True)
        error = classify_exception(exc)
    finished = time.perf_counter()
    if error is not None and error[0] in _NAMES_REQUEST and m.request is not None:
        error = error[0], f"{error[1]} ({m.request.method} {redact_url(m.request.url)})"
        if error[0] == "client_error" and m.status == 404 and target.kind != "http":
            error = error[0], error[1] + _NOT_FOUND_HINTS.get(target.kind, _NOT_FOUND_HINT)
    return _result(target, m, error, finished)


# Failures of reaching the endpoint or of its status: the request says where it went (a
# ``url`` without ``/v1``, or with ``/chat/completions`` already in it, shows at once).
_NAMES_REQUEST = frozenset(
    {
        "timeout",
        "connection",
        "rate_limited",
        "quota_exceeded",
        "server_error",
        "overloaded",
        "client_error",
    }
)
_NOT_FOUND_HINT = (
    "; url is the API's base (e.g. https://api.openai.com/v1): the probe appends "
    "/chat/completions or /embeddings"
)
_NOT_FOUND_HINTS = {
    "anthropic_messages": "; url is the API's base (e.g. https://api.anthropic.com/v1): the "
    "probe appends /messages",
    "openai_responses": "; url is the API's base (e.g. https://api.openai.com/v1): the probe "
    "appends /responses",
    "gemini": "; url is the API's base (e.g. https://generativelanguage.googleapis.com/v1beta): "
    "the probe appends /models/{model}:generateContent",
    "openai_images": "; url is the API's base (e.g. https://api.openai.com/v1): the probe "
    "appends /images/generations",
}


def _result(
    target: Target, m: Measurement, error: tuple[ErrorType, str] | None, finished: float
) -> ProbeResult:
    duration = m.last_byte if error is None and m.last_byte is not None else finished - m.start
    estimated = m.output_tokens is None and m.chunks.count > 0
    if estimated:
        # No usage: one content chunk is about one token on the common open servers.
        m.output_tokens = m.chunks.count
    ttft = m.time_to_first_token
    tpot = None
    if error is None and ttft is not None and m.output_tokens is not None and m.output_tokens >= 2:
        tpot = (duration - ttft) / (m.output_tokens - 1)
    verdicts, error = _judge(target, m, error, duration)
    secrets = secrets_of(target)
    excerpt = m.text if target.stream and m.text else ""
    if not excerpt:
        excerpt = m.excerpt.decode("utf-8", errors="replace")
    return ProbeResult(
        target=target.name,
        success=error is None,
        error_type=error[0] if error else None,
        error=scrub(error[1], secrets) if error else None,
        status_code=m.status,
        duration=duration,
        time_to_first_byte=m.time_to_first_byte,
        time_to_first_token=ttft,
        time_per_output_token=tpot,
        input_tokens=m.input_tokens,
        output_tokens=m.output_tokens,
        cost_usd=_cost(target, m),
        ratelimit_remaining_requests=m.ratelimit_remaining_requests,
        ratelimit_remaining_tokens=m.ratelimit_remaining_tokens,
        response_model=m.response_model,
        system_fingerprint=m.system_fingerprint,
        embedding_dimensions=m.embedding_dimensions,
        checks=verdicts,
        started_at=m.started_at,
        finished_at=m.started_at + (finished - m.start),
        request_summary=scrub(m.request.summary(), secrets) if m.request else "",
        response_excerpt=scrub(excerpt[:2048], secrets),
        output_tokens_estimated=estimated,
        images=m.images,
        image=f"{m.image.media_type} {m.image.width}x{m.image.height}" if m.image else None,
        **_stream_fields(target, m.chunks),
        **_ratelimit_fields(m.ratelimits),
    )


def _ratelimit_fields(limits: RateLimits) -> dict[str, Any]:
    """The rate-limit headers beyond the requests and tokens headroom."""
    other = ("input_tokens", "output_tokens")
    return {
        "ratelimit_remaining_other": tuple(
            (k, limits.remaining[k]) for k in other if k in limits.remaining
        ),
        "ratelimit_reset": tuple(sorted(limits.reset.items())),
        "retry_after": limits.retry_after,
    }


def _stream_fields(target: Target, chunks: ChunkClock) -> dict[str, Any]:
    """What the chunk-by-chunk measure adds to a result (nothing for a whole answer)."""
    gaps = chunks.count > 1
    return {
        "content_chunks": chunks.count,
        "chunk_gap_counts": tuple(chunks.gap_counts) if gaps else (),
        "chunk_gap_sum": chunks.gap_sum,
        "longest_chunk_gap": chunks.longest if gaps else None,
        "stream_buffered": chunks.buffered if target.stream else None,
    }


def _judge(
    target: Target, m: Measurement, error: tuple[ErrorType, str] | None, duration: float
) -> tuple[tuple[Check, ...], tuple[ErrorType, str] | None]:
    """The checks' verdicts, and the error they add; a failed probe gets only its status."""
    if m.status is None:
        return (), error
    if error is not None:
        return _shared((checks.status_check(target.expect, m.status),)), error
    verdicts = checks.evaluate(
        target.expect,
        status=m.status,
        text=m.text,
        duration=duration,
        time_to_first_token=m.time_to_first_token,
        dimensions=m.embedding_dimensions,
        chunks=m.chunks if target.stream else None,
        image=(m.image.width, m.image.height) if m.image is not None else None,
    )
    failed = [c for c in verdicts if not c.ok]
    if failed:
        error = "validation_failed", "; ".join(f"{c.name}: {c.detail}" for c in failed)
    return _shared(verdicts), error


_VERDICTS: dict[tuple[Check, ...], tuple[Check, ...]] = {}
_VERDICTS_MAX = 4096


def _shared(verdicts: tuple[Check, ...]) -> tuple[Check, ...]:
    """One copy of each set of verdicts. A target's probes mostly repeat the same ones, and
    results kept until the next probe then share them instead of each keeping its own objects
    for the cyclic collector to walk. Emptied when full, in case details keep changing."""
    if len(_VERDICTS) >= _VERDICTS_MAX:
        _VERDICTS.clear()
    return _VERDICTS.setdefault(verdicts, verdicts)


def _cost(target: Target, m: Measurement) -> float | None:
    if target.price is None or (
        m.input_tokens is None and m.output_tokens is None and m.images is None
    ):
        return None
    return (
        (m.input_tokens or 0) * target.price.input_per_million
        + (m.output_tokens or 0) * target.price.output_per_million
    ) / 1e6 + (m.images or 0) * target.price.per_image


def _timeout_message(target: Target, m: Measurement) -> str:
    if m.status is None:
        where = "waiting for the response headers"
    elif m.time_to_first_token is not None:
        where = "while streaming, after the first token"
    else:
        where = "reading the response body"
    return f"no complete answer within the {target.timeout:g}s timeout ({where})"
