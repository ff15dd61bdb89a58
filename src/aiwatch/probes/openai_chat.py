"""The ``openai_chat`` probe: one chat completion, streamed (SSE) or not, timed token by token."""

import json
from typing import Any

import aiohttp

from aiwatch.config.model import Target
from aiwatch.config.prompts import ImagePrompt, Prompt
from aiwatch.probes.errors import ProbeFailure, classify_body_error, openai_error
from aiwatch.probes.exchange import (
    Measurement,
    Request,
    fail_on_error_status,
    json_request,
    parse_json,
    read_body,
    send,
)
from aiwatch.probes.sse import SSEDecoder

DONE = "[DONE]"


def chat_request(target: Target, *, prompt_index: int) -> Request:
    """The request body: model, the next prompt as messages, ``request`` merged in."""
    messages = prompt_messages(target.prompts[prompt_index % len(target.prompts)])
    payload: dict[str, Any] = {"model": target.model, "messages": messages, **target.request}
    payload.pop("stream", None)  # the target's ``stream`` decides how the answer is read
    if target.stream:
        payload["stream"] = True
        options = payload.get("stream_options")
        payload["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return json_request(target, "/chat/completions", payload)


def prompt_messages(prompt: Prompt) -> list[dict[str, Any]]:
    """A prompt as ``messages``: images are ``image_url`` parts holding data URLs."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, ImagePrompt):
        parts: list[dict[str, Any]] = [{"type": "text", "text": prompt.text}]
        parts += [{"type": "image_url", "image_url": {"url": i.data_url}} for i in prompt.images]
        return [{"role": "user", "content": parts}]
    return [dict(m) for m in prompt]


async def probe_chat(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one chat completion into ``m``; raise ``ProbeFailure`` for a known fault."""
    request = chat_request(target, prompt_index=prompt_index)
    async with await send(session, request, m) as response:
        await fail_on_error_status(response, m, target.max_body_bytes)
        if target.stream:
            await _read_stream(response, m, target.max_body_bytes)
        else:
            body = await read_body(response, m, target.max_body_bytes)
            _read_completion(parse_json(body, "the completion"), m)


async def _read_stream(response: aiohttp.ClientResponse, m: Measurement, limit: int) -> None:
    content_type = response.headers.get("Content-Type", "")
    if not content_type.lower().startswith("text/event-stream"):
        msg = f"asked for a stream but got Content-Type {content_type or 'none'!r}"
        raise ProbeFailure("invalid_response", msg)
    stream = _StreamState()
    decoder = SSEDecoder()
    size = 0
    try:
        async for chunk in response.content.iter_any():
            m.got_bytes(chunk)
            size += len(chunk)
            if size > limit:
                msg = f"stream larger than max_body_bytes ({limit})"
                raise ProbeFailure("invalid_response", msg)
            for data in decoder.feed(chunk):
                stream.event(data, m)
            if stream.done:
                break
        else:
            for data in decoder.close():
                stream.event(data, m)
    except aiohttp.ClientPayloadError as err:
        raise ProbeFailure("stream_error", f"stream broken: {err}") from None
    m.text = "".join(stream.parts)
    if not stream.done:
        raise ProbeFailure("stream_error", "stream ended without data: [DONE]")
    if stream.content_filtered:
        raise ProbeFailure("content_filter", "finish_reason is content_filter")


class _StreamState:
    """What the chunks of one stream said so far."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.done = False
        self.content_filtered = False

    def event(self, data: str, m: Measurement) -> None:
        if self.done:
            return
        if data.strip() == DONE:
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            msg = f"invalid JSON in a stream chunk: {data[:200]!r}"
            raise ProbeFailure("invalid_response", msg) from None
        if not isinstance(chunk, dict):
            msg = f"stream chunk is not a JSON object: {data[:200]!r}"
            raise ProbeFailure("invalid_response", msg)
        if "error" in chunk:
            names, message = openai_error(chunk)
            detail = message or ", ".join(sorted(names)) or json.dumps(chunk["error"])[:200]
            raise ProbeFailure("stream_error", f"error inside the stream: {detail}")
        _identity(chunk, m)
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                m.got_content()
                self.parts.append(content)
            if choice.get("finish_reason") == "content_filter":
                self.content_filtered = True
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            _usage(usage, m)


def _read_completion(reply: Any, m: Measurement) -> None:
    if not isinstance(reply, dict):
        raise ProbeFailure("invalid_response", "the completion is not a JSON object")
    in_body = classify_body_error(reply)
    if in_body is not None:
        raise ProbeFailure(*in_body)
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProbeFailure("invalid_response", "the completion has no choices")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if content is not None and not isinstance(content, str):
        raise ProbeFailure("invalid_response", "choices[0].message.content is not a string")
    m.text = content or ""
    _identity(reply, m)
    usage = reply.get("usage")
    if not isinstance(usage, dict) or not _usage(usage, m):
        raise ProbeFailure("invalid_response", "the completion has no valid usage")
    if any(isinstance(c, dict) and c.get("finish_reason") == "content_filter" for c in choices):
        raise ProbeFailure("content_filter", "finish_reason is content_filter")


def _identity(document: dict[str, Any], m: Measurement) -> None:
    model = document.get("model")
    if isinstance(model, str) and model:
        m.response_model = model
    fingerprint = document.get("system_fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        m.system_fingerprint = fingerprint


def _usage(usage: dict[str, Any], m: Measurement) -> bool:
    """Record token counts; False when ``usage`` lacks valid ones."""
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not _count(prompt) or not _count(completion):
        return False
    m.input_tokens, m.output_tokens = prompt, completion
    return True


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
