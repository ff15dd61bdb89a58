"""The ``openai_embeddings`` probe: one embedding, checked to be a non-empty finite vector."""

import base64
import binascii
import math
import struct
from typing import Any

import aiohttp

from aiwatch.config.model import Target
from aiwatch.probes.errors import ProbeFailure, classify_body_error
from aiwatch.probes.exchange import (
    Measurement,
    Request,
    fail_on_error_status,
    json_request,
    parse_json,
    read_body,
    send,
)


def embeddings_request(target: Target, *, prompt_index: int) -> Request:
    """The request body: model, the next ``input`` text, ``request`` merged in."""
    text = target.input[prompt_index % len(target.input)]
    return json_request(
        target, "/embeddings", {"model": target.model, "input": text, **target.request}
    )


async def probe_embeddings(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one embedding request into ``m``; raise ``ProbeFailure`` for a known fault."""
    request = embeddings_request(target, prompt_index=prompt_index)
    async with await send(session, request, m) as response:
        await fail_on_error_status(response, m, target.max_body_bytes)
        body = await read_body(response, m, target.max_body_bytes)
    _read_embedding(parse_json(body, "the embedding response"), m)
    m.text = body.decode("utf-8", errors="replace")


def _read_embedding(reply: Any, m: Measurement) -> None:
    if not isinstance(reply, dict):
        raise ProbeFailure("invalid_response", "the embedding response is not a JSON object")
    in_body = classify_body_error(reply)
    if in_body is not None:
        raise ProbeFailure(*in_body)
    data = reply.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ProbeFailure("invalid_response", "the embedding response has no data")
    vector = _vector(data[0].get("embedding"))
    if not vector:
        raise ProbeFailure("invalid_response", "the embedding is empty")
    m.embedding_dimensions = len(vector)
    if not all(math.isfinite(x) for x in vector):
        raise ProbeFailure("invalid_response", "the embedding has non-finite values (NaN or inf)")
    model = reply.get("model")
    if isinstance(model, str) and model:
        m.response_model = model
    usage = reply.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0:
        m.input_tokens = tokens


def _vector(value: Any) -> list[float]:
    """The embedding as floats: a JSON list, or base64 of little-endian float32s."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ProbeFailure("invalid_response", "the embedding is not valid base64") from None
        if len(raw) % 4:
            raise ProbeFailure("invalid_response", "the base64 embedding is not float32s")
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    if not isinstance(value, list):
        raise ProbeFailure("invalid_response", "the embedding is not a list of numbers")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise ProbeFailure("invalid_response", "the embedding has values that are not numbers")
    return [float(x) for x in value]
