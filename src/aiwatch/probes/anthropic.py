"""The ``anthropic_messages`` probe: one Messages API call, streamed (typed events) or not."""

from typing import Any

import aiohttp

from aiwatch.config.model import Target
from aiwatch.config.prompts import ImagePrompt, Prompt
from aiwatch.probes.errors import ProbeFailure, anthropic_cause, classify_anthropic
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

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 256
"""``max_tokens`` is required by the API; ``request`` may set another."""
# A reply refused or blocked by the model's safety system.
_FILTERED = frozenset({"refusal"})
_INPUT_USAGE = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def messages_request(target: Target, *, prompt_index: int) -> Request:
    """The request: model, ``max_tokens``, the next prompt as ``system`` and ``messages``,
    ``request`` merged in; the key in ``x-api-key`` with ``anthropic-version``."""
    system, messages = prompt_messages(target.prompts[prompt_index % len(target.prompts)])
    payload: dict[str, Any] = {
        "model": target.model,
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        payload["system"] = system
    payload.update(target.request)
    payload.pop("stream", None)  # the target's ``stream`` decides how the answer is read
    if target.stream:
        payload["stream"] = True
    return json_request(
        target,
        "/messages",
        payload,
        key_header="x-api-key",
        fixed=(("anthropic-version", ANTHROPIC_VERSION),),
    )


def prompt_messages(prompt: Prompt) -> tuple[str, list[dict[str, Any]]]:
    """A prompt as the Messages API takes it: the system text apart, the other turns in order;
    images are base64 ``image`` blocks, before the text as Anthropic advises."""
    if isinstance(prompt, str):
        return "", [{"role": "user", "content": prompt}]
    if isinstance(prompt, ImagePrompt):
        blocks: list[dict[str, Any]] = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": i.media_type, "data": i.base64},
            }
            for i in prompt.images
        ]
        blocks.append({"type": "text", "text": prompt.text})
        return "", [{"role": "user", "content": blocks}]
    system = "\n\n".join(m.get("content", "") for m in prompt if m.get("role") == "system")
    return system, [dict(m) for m in prompt if m.get("role") != "system"]


async def probe_anthropic(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one Messages API call into ``m``; raise ``ProbeFailure`` for a known fault."""
    request = messages_request(target, prompt_index=prompt_index)
    async with await send(session, request, m) as response:
        await fail_on_error_status(response, m, target.max_body_bytes, classify_anthropic)
        if target.stream:
            stream = _Stream(m)
            done = await read_events(response, m, target.max_body_bytes, stream.event)
            m.text = "".join(stream.parts)
            if not done:
                raise ProbeFailure("stream_error", "stream ended without message_stop")
            if stream.stop_reason in _FILTERED:
                raise ProbeFailure("content_filter", f"stop_reason is {stream.stop_reason}")
        else:
            body = await read_body(response, m, target.max_body_bytes)
            _read_message(parse_json(body, "the message"), m)


class _Stream:
    """What the events of one stream said so far."""

    def __init__(self, m: Measurement) -> None:
        self.m = m
        self.parts: list[str] = []
        self.stop_reason: str | None = None

    def event(self, data: str) -> bool:
        """Take one event; True at ``message_stop``."""
        event = event_object(data)
        kind = event.get("type")
        if kind == "content_block_delta":
            self._delta(event.get("delta"))
        elif kind == "message_start":
            message = event.get("message")
            if isinstance(message, dict):
                _identity(message, self.m)
                _usage(message.get("usage"), self.m)
        elif kind == "message_delta":
            delta = event.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.stop_reason = delta["stop_reason"]
            _usage(event.get("usage"), self.m)
        elif kind == "message_stop":
            return True
        elif kind == "error":
            _stream_error(event.get("error"))
        # ping, content_block_start and content_block_stop carry nothing to measure.
        return False

    def _delta(self, delta: Any) -> None:
        if not isinstance(delta, dict):
            return
        if delta.get("type") == "text_delta":
            text = delta.get("text")
            if isinstance(text, str) and text:
                self.m.got_content()
                self.parts.append(text)
        elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
            # Thinking is output the model generates: it counts for time to first token.
            self.m.got_content()


def _stream_error(error: Any) -> None:
    kind = str(error.get("type", "")) if isinstance(error, dict) else ""
    message = error.get("message") if isinstance(error, dict) else None
    message = message if isinstance(message, str) else ""
    cause: ErrorType = "stream_error"
    if anthropic_cause(kind, message) == "overloaded":
        cause = "overloaded"
    detail = ": ".join(p for p in (kind, message) if p) or "no details"
    raise ProbeFailure(cause, f"error inside the stream: {detail}")


def _read_message(reply: Any, m: Measurement) -> None:
    if not isinstance(reply, dict):
        raise ProbeFailure("invalid_response", "the message is not a JSON object")
    if reply.get("type") == "error":
        cause, detail = classify_anthropic(200, reply)
        raise ProbeFailure(
            "invalid_response" if cause in ("client_error", "server_error") else cause,
            "error in a 2xx answer: " + detail.removeprefix("HTTP 200 "),
        )
    content = reply.get("content")
    if not isinstance(content, list):
        raise ProbeFailure("invalid_response", "the message has no content list")
    m.text = "".join(
        block["text"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )
    _identity(reply, m)
    if not _usage(reply.get("usage"), m) or m.input_tokens is None:
        raise ProbeFailure("invalid_response", "the message has no valid usage")
    if reply.get("stop_reason") in _FILTERED:
        raise ProbeFailure("content_filter", f"stop_reason is {reply['stop_reason']}")


def _identity(message: dict[str, Any], m: Measurement) -> None:
    model = message.get("model")
    if isinstance(model, str) and model:
        m.response_model = model


def _usage(usage: Any, m: Measurement) -> bool:
    """Record the token counts ``usage`` has (``message_delta`` has output's, cumulative);
    False when it has no valid output count."""
    if not isinstance(usage, dict):
        return False
    inputs = [usage[k] for k in _INPUT_USAGE if usage.get(k) is not None]
    if inputs and all(_count(v) for v in inputs):
        m.input_tokens = sum(int(v) for v in inputs)
    output = usage.get("output_tokens")
    if not _count(output):
        return False
    m.output_tokens = output
    return True


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
