"""The mock's Anthropic Messages API: ``POST /v1/messages``, whole or streamed as typed events."""

import json
import uuid
from typing import Any

from aiohttp import web

from aiwatch.mockai.behavior import Behavior
from aiwatch.mockai.exchange import Clock, StreamWriter, bearer_key, event_stream, play, sse
from aiwatch.mockai.replies import count_words

# The mock's named faults as the Messages API answers them: status, error type, message.
FAULTS: dict[str, tuple[int, str, str]] = {
    "rate_limited": (
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per minute.",
    ),
    "quota_exceeded": (
        400,
        "invalid_request_error",
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
        "Billing to upgrade or purchase credits.",
    ),
    "context_length_exceeded": (
        400,
        "invalid_request_error",
        "prompt is too long: 210000 tokens > 200000 maximum",
    ),
    "content_filter": (400, "invalid_request_error", "Output blocked by content filtering policy"),
    "server_error": (500, "api_error", "Internal server error"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "invalid_api_key": (401, "authentication_error", "invalid x-api-key"),
}
_BY_STATUS = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
# The stop reasons of the mock's ``finish_reason`` values, as Anthropic names them.
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal"}


def error_answer(b: Behavior) -> tuple[int, dict[str, Any]]:
    """The status and body of an error answer, ``{"type": "error", "error": {…}}``."""
    if b.fault is not None:
        status, kind, message = FAULTS[b.fault]
    else:
        status = b.status if not 200 <= b.status < 300 else 500
        kind = _BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        message = "Internal server error" if status >= 500 else "Bad request."
    if not 200 <= b.status < 300:
        status = b.status
    error = {"type": kind, "message": message, **(b.error or {})}
    return status, {"type": "error", "error": error, "request_id": _ident("req")}


def _ident(prefix: str) -> str:
    return f"{prefix}_mock{uuid.uuid4().hex[:20]}"


def _usage(b: Behavior, request: dict[str, Any]) -> dict[str, int]:
    prompt = b.input_tokens
    if prompt is None:
        messages = request.get("messages")
        turns = messages if isinstance(messages, list) else []
        contents = [m.get("content") for m in turns if isinstance(m, dict)]
        prompt = count_words([request.get("system"), contents])
    output = b.output_tokens
    if output is None:
        output = len(b.thinking_pieces()) + len(b.reply_pieces())
    return {"input_tokens": prompt, "output_tokens": output}


def _message(b: Behavior, request: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": _ident("msg"),
        "type": "message",
        "role": "assistant",
        "model": b.model or request.get("model", ""),
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
    }
    if not b.omit_usage:
        body["usage"] = _usage(b, request)
    return body


class Messages:
    """``POST /v1/messages`` (see ``exchange.Api``)."""

    kind = "anthropic"

    def key(self, request: web.Request) -> str | None:
        """``x-api-key``, or a bearer token (as newer SDKs send the key)."""
        return request.headers.get("x-api-key") or bearer_key(request)

    def model(self, request: web.Request, body: dict[str, Any]) -> str:
        """The body's ``model``."""
        return str(body.get("model", ""))

    def headers(self, b: Behavior) -> dict[str, str]:
        """Rate-limit headroom as ``anthropic-ratelimit-*-remaining``, and ``request-id``."""
        out = {"request-id": _ident("req")}
        if b.ratelimit_remaining_requests is not None:
            out["anthropic-ratelimit-requests-remaining"] = str(b.ratelimit_remaining_requests)
        if b.ratelimit_remaining_tokens is not None:
            out["anthropic-ratelimit-tokens-remaining"] = str(b.ratelimit_remaining_tokens)
        return {**out, **b.headers}

    def error(self, b: Behavior) -> tuple[int, dict[str, Any]]:
        """An Anthropic error answer."""
        return error_answer(b)

    def streams(self, request: web.Request, body: dict[str, Any]) -> bool:
        """``"stream": true`` in the body."""
        return body.get("stream") is True

    def reply(self, b: Behavior, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """A whole message: a thinking block (with ``thinking``) and a text block."""
        content = [{"type": "text", "text": "".join(b.reply_pieces())}]
        if b.thinking:
            content.insert(0, {"type": "thinking", "thinking": b.thinking, "signature": "mock"})
        message = _message(b, body, content)
        message["stop_reason"] = _STOP_REASONS.get(b.finish_reason, b.finish_reason)
        return message

    async def stream(
        self, request: web.Request, body: dict[str, Any], b: Behavior, clock: Clock
    ) -> web.StreamResponse:
        """message_start, a thinking block (with ``thinking``), a text block of one delta per
        word, message_delta, message_stop."""
        response = await event_stream(request, b, self.headers(b))

        async def send(document: dict[str, Any]) -> None:
            await response.write(sse(document["type"], json.dumps(document), b))

        message = _message(b, body, [])
        usage = message.get("usage")
        if usage is not None:
            message["usage"] = {**usage, "output_tokens": 1}
        await send({"type": "message_start", "message": message})
        thinking = b.thinking_pieces()
        first = _EMPTY_THINKING if thinking else _EMPTY_TEXT
        await send({"type": "content_block_start", "index": 0, "content_block": first})
        await send({"type": "ping"})
        text_block = 1 if thinking else 0

        async def end_thinking() -> None:
            signature = {"type": "signature_delta", "signature": "mock"}
            await send({"type": "content_block_delta", "index": 0, "delta": signature})
            await send({"type": "content_block_stop", "index": 0})
            await send({"type": "content_block_start", "index": 1, "content_block": _EMPTY_TEXT})

        async def piece(i: int, text: str) -> None:
            if i < len(thinking):
                delta = {"type": "thinking_delta", "thinking": text}
                await send({"type": "content_block_delta", "index": 0, "delta": delta})
                return
            if thinking and i == len(thinking):
                await end_thinking()
            delta = {"type": "text_delta", "text": text}
            await send({"type": "content_block_delta", "index": text_block, "delta": delta})

        async def error() -> None:
            await send(error_answer(Behavior(fault="server_error", error=b.error))[1])

        async def malformed() -> None:
            await response.write(b'event: content_block_delta\ndata: {"type": "oops\n\n')

        pieces = thinking + b.reply_pieces()
        if await play(b, clock, pieces, StreamWriter(piece, error, malformed)):
            if thinking and len(pieces) == len(thinking):  # thinking and no reply
                await end_thinking()
            await send({"type": "content_block_stop", "index": text_block})
            for event in _ending(b, usage):
                await send(event)
        return await response.end()


def _ending(b: Behavior, usage: dict[str, int] | None) -> list[dict[str, Any]]:
    """The events after the content: message_delta (stop reason, output tokens), then
    message_stop unless ``omit_done``."""
    stop = {"stop_reason": _STOP_REASONS.get(b.finish_reason, b.finish_reason)}
    delta: dict[str, Any] = {"type": "message_delta", "delta": {**stop, "stop_sequence": None}}
    if usage is not None:
        delta["usage"] = {"output_tokens": usage["output_tokens"]}
    return [delta] if b.omit_done else [delta, {"type": "message_stop"}]


_EMPTY_TEXT = {"type": "text", "text": ""}
_EMPTY_THINKING = {"type": "thinking", "thinking": "", "signature": ""}
