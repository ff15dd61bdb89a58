"""The mock's OpenAI Responses API: ``POST /v1/responses``, whole or streamed as typed events."""

import json
import time
import uuid
from typing import Any

from aiohttp import web

from aiwatch.mockai.behavior import Behavior, build, error_answer
from aiwatch.mockai.exchange import (
    Clock,
    StreamWriter,
    bearer_key,
    event_stream,
    headers,
    play,
    sse,
)
from aiwatch.mockai.replies import count_words

# ``finish_reason`` values that end a response as incomplete, with the reason the API gives.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_FAILED = "failed"
"""The ``finish_reason`` that makes the response fail (``response.failed``)."""


def _ident(prefix: str) -> str:
    return f"{prefix}_mock{uuid.uuid4().hex[:24]}"


def _usage(b: Behavior, request: dict[str, Any]) -> dict[str, Any]:
    prompt = b.input_tokens
    if prompt is None:
        value = request.get("input")
        turns = value if isinstance(value, list) else [value]
        prompt = count_words(
            [t.get("content") if isinstance(t, dict) else t for t in turns]
            + [request.get("instructions")]
        )
    output = b.output_tokens if b.output_tokens is not None else len(b.reply_pieces())
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


class _Response:
    """The ``response`` object of one answer, as it is at each step of a stream."""

    def __init__(self, b: Behavior, request: dict[str, Any]) -> None:
        self.b = b
        self.request = request
        self.id = _ident("resp")
        self.item_id = _ident("msg")
        self.created = int(time.time())

    def message(self, text: str, status: str) -> dict[str, Any]:
        """The output message item."""
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        return {
            "type": "message",
            "id": self.item_id,
            "status": status,
            "role": "assistant",
            "content": [part] if status == "completed" or text else [],
        }

    def document(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        """The response object with ``status`` and ``output``."""
        b = self.b
        reason = _INCOMPLETE.get(b.finish_reason) if status == "incomplete" else None
        failed = status == "failed"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "model": b.model or self.request.get("model", ""),
            "output": output,
            "error": {"code": "server_error", "message": "The model failed."} if failed else None,
            "incomplete_details": {"reason": reason} if reason else None,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": None if b.omit_usage or status == "in_progress" else _usage(b, self.request),
        }

    def final_status(self) -> str:
        """``completed``, ``incomplete`` or ``failed``, as ``finish_reason`` says."""
        if self.b.finish_reason == _FAILED:
            return "failed"
        return "incomplete" if self.b.finish_reason in _INCOMPLETE else "completed"


class Responses:
    """``POST /v1/responses`` (see ``exchange.Api``)."""

    kind = "responses"

    def key(self, request: web.Request) -> str | None:
        """A bearer token."""
        return bearer_key(request)

    def model(self, request: web.Request, body: dict[str, Any]) -> str:
        """The body's ``model``."""
        return str(body.get("model", ""))

    def headers(self, b: Behavior) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*`` headers."""
        return headers(b)

    def error(self, b: Behavior) -> tuple[int, dict[str, Any]]:
        """An OpenAI-shaped error answer."""
        return error_answer(b)

    def streams(self, request: web.Request, body: dict[str, Any]) -> bool:
        """``"stream": true`` in the body."""
        return body.get("stream") is True

    def reply(self, b: Behavior, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """A whole response: one message with one output_text part."""
        response = _Response(b, body)
        status = response.final_status()
        return response.document(status, [response.message("".join(b.reply_pieces()), status)])

    async def stream(
        self, request: web.Request, body: dict[str, Any], b: Behavior, clock: Clock
    ) -> web.StreamResponse:
        """created, in_progress, the item and part added, one output_text.delta per word, the
        part and item done, then completed (incomplete or failed as ``finish_reason`` says)."""
        out = await event_stream(request, b, self.headers(b))
        response = _Response(b, body)
        sequence = iter(range(1_000_000))

        async def send(kind: str, **fields: Any) -> None:
            event = {"type": kind, "sequence_number": next(sequence), **fields}
            await out.write(sse(kind, json.dumps(event), b))

        where = {"item_id": response.item_id, "output_index": 0, "content_index": 0}
        await send("response.created", response=response.document("in_progress", []))
        await send("response.in_progress", response=response.document("in_progress", []))
        item = response.message("", "in_progress")
        await send("response.output_item.added", output_index=0, item=item)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        await send("response.content_part.added", **where, part=part)

        async def piece(_: int, text: str) -> None:
            await send("response.output_text.delta", **where, delta=text, logprobs=[])

        async def error() -> None:
            _, body = error_answer(build({"fault": "server_error", "error": b.error}))
            fields = {k: body["error"].get(k) for k in ("code", "message", "param")}
            await send("error", **{**fields, "code": fields["code"] or "server_error"})

        async def malformed() -> None:
            await out.write(b'event: response.output_text.delta\ndata: {"type": "oops\n\n')

        if await play(b, clock, b.reply_pieces(), StreamWriter(piece, error, malformed)):
            await self._finish(send, response, where)
        return await out.end()

    async def _finish(self, send: Any, response: _Response, where: dict[str, Any]) -> None:
        text = "".join(response.b.reply_pieces())
        status = response.final_status()
        await send("response.output_text.done", **where, text=text, logprobs=[])
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        await send("response.content_part.done", **where, part=part)
        item = response.message(text, status)
        await send("response.output_item.done", output_index=0, item=item)
        if not response.b.omit_done:
            await send(f"response.{status}", response=response.document(status, [item]))
