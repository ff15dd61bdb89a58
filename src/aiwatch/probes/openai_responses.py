"""The ``openai_responses`` probe: one OpenAI Responses API call, streamed or not."""

from typing import Any

import aiohttp

from aiwatch.config.model import Target
from aiwatch.config.prompts import ImagePrompt, Prompt
from aiwatch.probes.errors import ProbeFailure, classify_body_error, code_cause, openai_error
from aiwatch.probes.exchange import (
    Measurement,
    Request,
    fail_on_error_status,
    json_request,
    parse_json,
    read_body,
    send,
)
from aiwatch.probes.sse import event_object, read_events

# The events that end a stream, one per final status of the response.
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
# Deltas of reasoning the model generates before its reply: content for time to first token.
_REASONING = frozenset({"response.reasoning_text.delta", "response.reasoning_summary_text.delta"})


def responses_request(target: Target, *, prompt_index: int) -> Request:
    """The request: model, the next prompt as ``input`` messages, ``store: false`` (a probe's
    answers are not worth keeping), ``request`` merged in."""
    prompt = target.prompts[prompt_index % len(target.prompts)]
    payload: dict[str, Any] = {
        "model": target.model,
        "input": prompt_input(prompt),
        "store": False,
        **target.request,
    }
    payload.pop("stream", None)  # the target's ``stream`` decides how the answer is read
    if target.stream:
        payload["stream"] = True
    return json_request(target, "/responses", payload)


def prompt_input(prompt: Prompt) -> list[dict[str, Any]]:
    """A prompt as the ``input`` list: a string is one user message, a list is sent as is,
    images are ``input_image`` parts holding data URLs."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, ImagePrompt):
        parts: list[dict[str, Any]] = [{"type": "input_text", "text": prompt.text}]
        parts += [{"type": "input_image", "image_url": i.data_url} for i in prompt.images]
        return [{"role": "user", "content": parts}]
    return [dict(m) for m in prompt]


async def probe_responses(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one Responses API call into ``m``; raise ``ProbeFailure`` for a known fault."""
    request = responses_request(target, prompt_index=prompt_index)
    async with await send(session, request, m) as response:
        await fail_on_error_status(response, m, target.max_body_bytes)
        if target.stream:
            stream = _Stream(m)
            done = await read_events(response, m, target.max_body_bytes, stream.event)
            m.text = "".join(stream.parts)
            if not done:
                raise ProbeFailure("stream_error", "stream ended without response.completed")
        else:
            body = await read_body(response, m, target.max_body_bytes)
            reply = parse_json(body, "the response")
            if not isinstance(reply, dict):
                raise ProbeFailure("invalid_response", "the response is not a JSON object")
            _read_response(reply, m, whole=True)


class _Stream:
    """What the events of one stream said so far."""

    def __init__(self, m: Measurement) -> None:
        self.m = m
        self.parts: list[str] = []

    def event(self, data: str) -> bool:
        """Take one event; True at the response's final event."""
        event = event_object(data)
        kind = event.get("type")
        if kind == "response.output_text.delta":
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                self.m.got_content()
                self.parts.append(delta)
        elif kind in _REASONING and event.get("delta"):
            self.m.got_content()
        elif kind == "response.created":
            response = event.get("response")
            if isinstance(response, dict):
                _identity(response, self.m)
        elif kind in _TERMINAL:
            response = event.get("response")
            if not isinstance(response, dict):
                raise ProbeFailure("invalid_response", f"{kind} without a response object")
            _read_response(response, self.m, whole=False)
            return True
        elif kind == "error":
            names, message = openai_error({"error": event})
            detail = message or ", ".join(sorted(names)) or "no details"
            raise ProbeFailure("stream_error", f"error inside the stream: {detail}")
        return False


def _read_response(reply: dict[str, Any], m: Measurement, *, whole: bool) -> None:
    """Read a final response object: its status, text (``whole``), identity and usage."""
    status = reply.get("status")
    if status == "failed":
        names, message = openai_error(reply)
        cause = code_cause(names) or "server_error"
        detail = message or ", ".join(sorted(names)) or "no details"
        raise ProbeFailure(cause, f"the response failed: {detail}")
    if whole:
        in_body = classify_body_error(reply)
        if in_body is not None:
            raise ProbeFailure(*in_body)
        output = reply.get("output")
        if not isinstance(output, list):
            raise ProbeFailure("invalid_response", "the response has no output list")
        m.text = output_text(output)
    _identity(reply, m)
    usage = reply.get("usage")
    if not _usage(usage, m) and whole:
        raise ProbeFailure("invalid_response", "the response has no valid usage")
    details = reply.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if status == "incomplete" and reason == "content_filter":
        raise ProbeFailure("content_filter", "the response is incomplete: content_filter")


def output_text(output: list[Any]) -> str:
    """The text of every ``output_text`` part of every message item, in order."""
    return "".join(
        part["text"]
        for item in output
        if isinstance(item, dict) and item.get("type") == "message"
        for part in item.get("content") or ()
        if isinstance(part, dict)
        and part.get("type") == "output_text"
        and isinstance(part.get("text"), str)
    )


def _identity(response: dict[str, Any], m: Measurement) -> None:
    model = response.get("model")
    if isinstance(model, str) and model:
        m.response_model = model


def _usage(usage: Any, m: Measurement) -> bool:
    if not isinstance(usage, dict):
        return False
    inputs, outputs = usage.get("input_tokens"), usage.get("output_tokens")
    if not _count(inputs) or not _count(outputs):
        return False
    m.input_tokens, m.output_tokens = inputs, outputs
    return True


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
