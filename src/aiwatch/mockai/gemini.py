"""The mock's Gemini API: ``POST /v1beta/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``, the key in ``x-goog-api-key`` (or ``?key=``)."""

import json
import uuid
from typing import Any

from aiohttp import web

from aiwatch.mockai.behavior import Behavior
from aiwatch.mockai.exchange import Clock, StreamWriter, event_stream, play, sse
from aiwatch.mockai.replies import count_words

_DAILY = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
_PER_MINUTE = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
_QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
# The mock's named faults as Gemini answers them: status, status name, message, quota id.
FAULTS: dict[str, tuple[int, str, str, str | None]] = {
    "rate_limited": (429, "RESOURCE_EXHAUSTED", _QUOTA_MESSAGE, _PER_MINUTE),
    "quota_exceeded": (429, "RESOURCE_EXHAUSTED", _QUOTA_MESSAGE, _DAILY),
    "context_length_exceeded": (
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        None,
    ),
    "server_error": (500, "INTERNAL", "An internal error has occurred.", None),
    "overloaded": (503, "UNAVAILABLE", "The model is overloaded. Please try again later.", None),
    "invalid_api_key": (
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        None,
    ),
}
_BY_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def error_answer(b: Behavior) -> tuple[int, dict[str, Any]]:
    """The status and ``{"error": {"code", "message", "status", "details"}}`` body; a
    ``content_filter`` fault is a 200 whose prompt was blocked, as Gemini answers it."""
    if b.fault == "content_filter":
        return 200, {"promptFeedback": {"blockReason": "SAFETY"}, "modelVersion": b.model or ""}
    quota: str | None = None
    if b.fault is not None:
        status, name, message, quota = FAULTS[b.fault]
    else:
        status = b.status if not 200 <= b.status < 300 else 500
        name = _BY_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
        message = "An internal error has occurred." if status >= 500 else "Bad request."
    if not 200 <= b.status < 300:
        status = b.status
    error: dict[str, Any] = {"code": status, "message": message, "status": name}
    if quota is not None:
        violation = {"quotaMetric": "generativelanguage.googleapis.com/requests", "quotaId": quota}
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"},
        ]
    return status, {"error": {**error, **(b.error or {})}}


def _ident() -> str:
    return uuid.uuid4().hex[:22]


def _usage(b: Behavior, request: dict[str, Any]) -> dict[str, int]:
    prompt = b.input_tokens
    if prompt is None:
        contents = request.get("contents")
        turns = contents if isinstance(contents, list) else []
        parts = [t.get("parts") for t in turns if isinstance(t, dict)]
        prompt = count_words([parts, request.get("systemInstruction")])
    output = b.output_tokens if b.output_tokens is not None else len(b.reply_pieces())
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": output}
    thoughts = len(b.thinking_pieces())
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return {**usage, "totalTokenCount": prompt + output + thoughts}


# Only these are answered: another method (countTokens, embedContent, …) is a 404, not a
# generateContent answer an SDK would misread.
GEMINI_METHODS = "generateContent|streamGenerateContent"


class Gemini:
    """``POST …/models/{model}:generateContent`` and ``:streamGenerateContent``."""

    kind = "gemini"

    def key(self, request: web.Request) -> str | None:
        """``x-goog-api-key``, or the ``key`` query parameter."""
        return request.headers.get("x-goog-api-key") or request.query.get("key")

    def model(self, request: web.Request, body: dict[str, Any]) -> str:
        """The model named in the path."""
        return request.match_info["model"]

    def headers(self, b: Behavior) -> dict[str, str]:
        """The behaviour's own headers (Gemini sends no rate-limit headers)."""
        return dict(b.headers)

    def error(self, b: Behavior) -> tuple[int, dict[str, Any]]:
        """A Gemini error answer."""
        return error_answer(b)

    def streams(self, request: web.Request, body: dict[str, Any]) -> bool:
        """The method in the path is ``streamGenerateContent``."""
        return request.match_info["method"] == "streamGenerateContent"

    def reply(self, b: Behavior, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """A whole answer: one candidate with the thinking (if any) and the reply as parts."""
        parts = [{"text": b.thinking, "thought": True}] if b.thinking else []
        parts.append({"text": "".join(b.reply_pieces())})
        return self._chunk(b, request, body, parts, last=True, ident=_ident())

    def _chunk(
        self,
        b: Behavior,
        request: web.Request,
        body: dict[str, Any],
        parts: list[dict[str, Any]],
        *,
        last: bool,
        ident: str,
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {
            "content": {"parts": parts, "role": "model"},
            "index": 0,
        }
        if last:
            candidate["finishReason"] = _FINISH.get(b.finish_reason, b.finish_reason.upper())
        chunk: dict[str, Any] = {
            "candidates": [candidate],
            "modelVersion": b.model or self.model(request, body),
            "responseId": ident,
        }
        if last and not b.omit_usage:
            chunk["usageMetadata"] = _usage(b, body)
        return chunk

    async def stream(
        self, request: web.Request, body: dict[str, Any], b: Behavior, clock: Clock
    ) -> web.StreamResponse:
        """One ``data:`` chunk per word, then a last chunk with finishReason and usage."""
        out = await event_stream(request, b, self.headers(b))
        ident = _ident()

        async def send(document: dict[str, Any]) -> None:
            await out.write(sse(None, json.dumps(document), b))

        if b.fault == "content_filter":
            await send(error_answer(b)[1])
            return await out.end()

        thinking = b.thinking_pieces()

        async def piece(i: int, text: str) -> None:
            part: dict[str, Any] = (
                {"text": text, "thought": True} if i < len(thinking) else {"text": text}
            )
            await send(self._chunk(b, request, body, [part], last=False, ident=ident))

        async def error() -> None:
            await send(error_answer(Behavior(fault="server_error", error=b.error))[1])

        async def malformed() -> None:
            await out.write(b'data: {"candidates": [oops\n\n')

        writer = StreamWriter(piece, error, malformed)
        if await play(b, clock, thinking + b.reply_pieces(), writer) and not b.omit_done:
            await send(self._chunk(b, request, body, [{"text": ""}], last=True, ident=ident))
        return await out.end()
