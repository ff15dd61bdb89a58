"""The bodies the mock sends: OpenAI-shaped completions, stream chunks and embeddings (pure)."""

import base64
import json
import math
import random
import struct
import time
from typing import Any

from aiwatch.mockai.behavior import Behavior


def count_words(value: Any) -> int:
    """A stand-in token count for prompts: the words of every string inside ``value``."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list | tuple):
        return sum(count_words(v) for v in value)
    if isinstance(value, dict):
        return sum(count_words(v) for v in value.values())
    return 0


def usage(b: Behavior, request: dict[str, Any]) -> dict[str, int]:
    """The ``usage`` object: the behaviour's counts, or the prompt's and reply's words."""
    messages = request.get("messages")
    contents = (
        [m.get("content") for m in messages if isinstance(m, dict)]
        if isinstance(messages, list)
        else []
    )
    prompt = b.input_tokens if b.input_tokens is not None else count_words(contents)
    completion = b.output_tokens if b.output_tokens is not None else len(b.reply_pieces())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion(b: Behavior, request: dict[str, Any], *, ident: str) -> dict[str, Any]:
    """A whole (non-streamed) chat completion."""
    body: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": b.model or request.get("model", ""),
        "system_fingerprint": b.system_fingerprint,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(b.reply_pieces())},
                "finish_reason": b.finish_reason,
            }
        ],
    }
    if not b.omit_usage:
        body["usage"] = usage(b, request)
    return body


def chunk(
    b: Behavior,
    request: dict[str, Any],
    *,
    ident: str,
    delta: dict[str, str] | None = None,
    finish: bool = False,
    usage_only: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream."""
    body: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": b.model or request.get("model", ""),
        "system_fingerprint": b.system_fingerprint,
        "choices": []
        if usage_only
        else [
            {
                "index": 0,
                "delta": delta or {},
                "finish_reason": b.finish_reason if finish else None,
            }
        ],
    }
    if usage_only:
        body["usage"] = usage(b, request)
    return body


def sse_event(data: str, *, split: bool = False, comment: bool = False) -> bytes:
    """One server-sent event carrying ``data`` (optionally over two ``data:`` lines)."""
    prefix = ": keep-alive\n\n" if comment else ""
    # Split after a ", " separator: the line break joining the two lines is JSON whitespace.
    cut = data.find(", ", len(data) // 2) + 1 if split else 0
    if cut > 0:
        return f"{prefix}data: {data[:cut]}\ndata: {data[cut:]}\n\n".encode()
    return f"{prefix}data: {data}\n\n".encode()


def embeddings(b: Behavior, request: dict[str, Any]) -> dict[str, Any]:
    """An embeddings answer: one deterministic unit vector per input text."""
    inputs = request.get("input")
    texts = inputs if isinstance(inputs, list) else [inputs]
    data = []
    for i, text in enumerate(texts):
        rng = random.Random(json.dumps(text))
        vector = [rng.gauss(0.0, 1.0) for _ in range(b.embedding_dimensions)]
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        values = [x / norm for x in vector]
        if b.embedding_nan and values:
            values[0] = math.nan
        embedding: list[float] | str = values
        if request.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    prompt = b.input_tokens if b.input_tokens is not None else count_words(texts)
    body: dict[str, Any] = {
        "object": "list",
        "data": data,
        "model": b.model or request.get("model", ""),
    }
    if not b.omit_usage:
        body["usage"] = {"prompt_tokens": prompt, "total_tokens": prompt}
    return body
