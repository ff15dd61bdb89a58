"""The ``gemini`` probe: one Gemini ``generateContent`` call, or ``streamGenerateContent``
read as server-sent events."""

from typing import Any
from urllib.parse import quote

import aiohttp

from aiwatch.config.model import Target
from aiwatch.config.prompts import ImagePrompt, Prompt
from aiwatch.probes.errors import ProbeFailure, classify_gemini, gemini_cause
from aiwatch.probes.exchange import (
    Measurement,
    Request,
    fail_on_error_status,
    json_request,
    parse_json,
    read_body,
    send,
)
from aiwatch.probes.result import ErrorType
from aiwatch.probes.sse import event_object, read_events

# Finish reasons and prompt block reasons that mean the safety system stopped the answer.
_FILTERED = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "RECITATION"}
)
_ROLES = {"assistant": "model"}


def gemini_request(target: Target, *, prompt_index: int) -> Request:
    """The request: the next prompt as ``contents`` (system turns as ``systemInstruction``),
    ``request`` merged in, to ``…:generateContent`` or ``…:streamGenerateContent?alt=sse``;
    the key in ``x-goog-api-key``."""
    system, contents = prompt_contents(target.prompts[prompt_index % len(target.prompts)])
    payload: dict[str, Any] = {"contents": contents}
    if system:
        payload["systemInstruction"] = {"parts": [{"text": system}]}
    payload.update(target.request)
    method = "streamGenerateContent?alt=sse" if target.stream else "generateContent"
    path = f"/models/{quote(target.model, safe='')}:{method}"
    return json_request(target, path, payload, key_header="x-goog-api-key")


def prompt_contents(prompt: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """A prompt as Gemini takes it: the system text apart, each other turn as a content with
    one text part (``assistant`` is Gemini's ``model`` role); images are ``inlineData`` parts,
    before the text."""
    if isinstance(prompt, str):
        return "", [{"role": "user", "parts": [{"text": prompt}]}]
    if isinstance(prompt, ImagePrompt):
        parts: list[dict[str, Any]] = [
            {"inlineData": {"mimeType": i.media_type, "data": i.base64}} for i in prompt.images
        ]
        parts.append({"text": prompt.text})
        return "", [{"role": "user", "parts": parts}]
    system = "\n\n".join(m.get("content", "") for m in prompt if m.get("role") == "system")
    contents = [
        {
            "role": _ROLES.get(m.get("role", "user"), m.get("role", "user")),
            "parts": [{"text": m.get("content", "")}],
        }
        for m in prompt
        if m.get("role") != "system"
    ]
    return system, contents


async def probe_gemini(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one Gemini call into ``m``; raise ``ProbeFailure`` for a known fault."""
    request = gemini_request(target, prompt_index=prompt_index)
    async with await send(session, request, m) as response:
        await fail_on_error_status(response, m, target.max_body_bytes, classify_gemini)
        if target.stream:
            stream = _Stream(m)
            done = await read_events(response, m, target.max_body_bytes, stream.event)
            m.text = "".join(stream.parts)
            if not done:
                raise ProbeFailure("stream_error", "stream ended without a finishReason")
        else:
            body = await read_body(response, m, target.max_body_bytes)
            reply = parse_json(body, "the answer")
            if not isinstance(reply, dict):
                raise ProbeFailure("invalid_response", "the answer is not a JSON object")
            if "error" in reply:
                cause, detail = classify_gemini(200, reply)
                raise ProbeFailure(
                    _in_body(cause), "error in a 2xx answer: " + detail.removeprefix("HTTP 200 ")
                )
            m.text = _chunk(reply, m, None)
            if not _usage(reply.get("usageMetadata"), m):
                raise ProbeFailure("invalid_response", "the answer has no valid usageMetadata")
            if _finish_reason(reply) is None:
                raise ProbeFailure("invalid_response", "the answer has no finishReason")


def _in_body(cause: ErrorType) -> ErrorType:
    return "invalid_response" if cause in ("client_error", "server_error") else cause


class _Stream:
    """What the chunks of one stream said so far."""

    def __init__(self, m: Measurement) -> None:
        self.m = m
        self.parts: list[str] = []

    def event(self, data: str) -> bool:
        """Take one chunk; True at the one with a finishReason."""
        chunk = event_object(data)
        error = chunk.get("error")
        if error is not None:
            cause: ErrorType = "stream_error"
            if gemini_cause(200, error) == "overloaded":
                cause = "overloaded"
            message = error.get("message") if isinstance(error, dict) else error
            raise ProbeFailure(cause, f"error inside the stream: {message or 'no details'}")
        self.parts.append(_chunk(chunk, self.m, self.m))
        _usage(chunk.get("usageMetadata"), self.m)
        return _finish_reason(chunk) is not None


def _chunk(chunk: dict[str, Any], m: Measurement, streaming: Measurement | None) -> str:
    """The reply text of one answer or chunk; fails on a blocked prompt or a filtered answer.
    When ``streaming``, each part with text (thought parts too) is a content chunk."""
    feedback = chunk.get("promptFeedback")
    blocked = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if blocked:
        raise ProbeFailure("content_filter", f"the prompt was blocked: {blocked}")
    version = chunk.get("modelVersion")
    if isinstance(version, str) and version:
        m.response_model = version
    candidates = chunk.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        if streaming is not None:  # a chunk of only usage or metadata
            return ""
        raise ProbeFailure("invalid_response", "the answer has no candidates")
    content = candidates[0].get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts: list[str] = []
    for part in parts if isinstance(parts, list) else ():
        text = part.get("text") if isinstance(part, dict) else None
        if not isinstance(text, str) or not text:
            continue
        if streaming is not None:
            streaming.got_content()
        if not part.get("thought"):
            texts.append(text)
    reason = candidates[0].get("finishReason")
    if reason in _FILTERED:
        raise ProbeFailure("content_filter", f"finishReason is {reason}")
    return "".join(texts)


def _finish_reason(chunk: dict[str, Any]) -> str | None:
    candidates = chunk.get("candidates")
    first = candidates[0] if isinstance(candidates, list) and candidates else None
    reason = first.get("finishReason") if isinstance(first, dict) else None
    return reason if isinstance(reason, str) and reason else None


def _usage(usage: Any, m: Measurement) -> bool:
    """Record ``promptTokenCount`` and the output (candidates plus thoughts); False when
    ``usage`` lacks them."""
    if not isinstance(usage, dict):
        return False
    prompt = usage.get("promptTokenCount")
    output = [usage.get(k, 0) for k in ("candidatesTokenCount", "thoughtsTokenCount")]
    if not _count(prompt) or "candidatesTokenCount" not in usage or not all(map(_count, output)):
        return False
    m.input_tokens, m.output_tokens = prompt, sum(output)
    return True


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
