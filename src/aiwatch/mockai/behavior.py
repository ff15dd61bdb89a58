"""How the mock AI endpoint behaves for one request: a frozen record built from layered dicts."""

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Behavior:
    """Every knob of the mock; times in seconds. Field names are the control API's keys."""

    latency: float = 0.0
    """Delay before the response headers."""
    latency_jitter: float = 0.0
    """Uniform random extra delay in [0, jitter], added to ``latency`` and the first token."""
    time_to_first_token: float | None = None
    """Request arrival to the first content chunk (streaming); default ``latency``."""
    tokens_per_second: float | None = None
    """Pace of the content chunks after the first; unset means as fast as possible."""
    output_tokens: int | None = None
    """Tokens in the reply (and ``usage.completion_tokens``); default: the reply's words."""
    input_tokens: int | None = None
    """``usage.prompt_tokens``; default: the words of the prompt."""
    reply: str | None = None
    """The reply text; default ``pong`` repeated ``output_tokens`` times."""
    thinking: str | None = None
    """Anthropic and Gemini: thinking streamed before the reply, one word per chunk."""
    status: int = 200
    """A non-2xx status answers with an OpenAI-shaped error body."""
    error: dict[str, Any] | None = None
    """The error object (``type``, ``code``, ``message``) of an error answer."""
    fault: str | None = None
    """A named error answer: one of ``FAULTS``."""
    error_rate: float = 0.0
    """Probability that a request gets the error answer (status 500 unless set)."""
    stream_error_after: int | None = None
    """Streaming: after this many content chunks, send an ``error`` event and end."""
    stall_after: int | None = None
    """Streaming: after this many content chunks, send nothing more (keep the connection)."""
    malformed_after: int | None = None
    """Streaming: after this many content chunks, send a chunk of invalid JSON."""
    omit_done: bool = False
    """Streaming: end without ``data: [DONE]``."""
    omit_usage: bool = False
    """Leave ``usage`` out (of the reply, or of the stream even when asked for)."""
    finish_reason: str = "stop"
    model: str | None = None
    """The model the answer claims; default the requested one."""
    system_fingerprint: str | None = "fp_mock"
    ratelimit_remaining_requests: int | None = None
    ratelimit_remaining_tokens: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers."""
    sse_comments: bool = False
    """Streaming: a ``: keep-alive`` comment before every chunk."""
    split_data_lines: bool = False
    """Streaming: each chunk's JSON over two ``data:`` lines (one multi-line event)."""
    buffer_stream: bool = False
    """Streaming: hold every event and send them in one write at the end, as a proxy that
    buffers SSE does (the paced generation still takes its time)."""
    raw_body: str | None = None
    """Non-streaming: send this text as the body (with ``status``) instead of a reply."""
    endless_body: bool = False
    """Non-streaming: a body that never ends (to test size caps and timeouts)."""
    embedding_dimensions: int = 8
    embedding_nan: bool = False
    """Put a NaN into the embedding."""
    image_size: str | None = None
    """Image generation: draw this size (``WxH``) whatever size was asked for."""
    image_invalid: bool = False
    """Image generation: send bytes that are no image instead of the PNG."""

    def reply_pieces(self) -> list[str]:
        """The reply as the content chunks a stream sends, one word (token) each."""
        if self.reply is not None:
            return re.findall(r"\s*\S+\s*$|\s*\S+", self.reply)
        count = 1 if self.output_tokens is None else self.output_tokens
        return ["pong"] + [" pong"] * (count - 1) if count > 0 else []

    def thinking_pieces(self) -> list[str]:
        """The thinking as the chunks a stream sends before the reply, one word each."""
        return re.findall(r"\s*\S+\s*$|\s*\S+", self.thinking) if self.thinking else []

    def answers_error(self) -> bool:
        """Whether this behaviour answers with an error status rather than a reply."""
        return self.fault is not None or not 200 <= self.status < 300


FAULTS: dict[str, tuple[int, dict[str, Any]]] = {
    "rate_limited": (
        429,
        {
            "type": "requests",
            "code": "rate_limit_exceeded",
            "message": "Rate limit reached for requests per min. Please try again in 1s.",
        },
    ),
    "quota_exceeded": (
        429,
        {
            "type": "insufficient_quota",
            "code": "insufficient_quota",
            "message": "You exceeded your current quota, please check your plan and billing.",
        },
    ),
    "context_length_exceeded": (
        400,
        {
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
            "message": "This model's maximum context length is 8192 tokens.",
        },
    ),
    "content_filter": (
        400,
        {
            "type": "invalid_request_error",
            "code": "content_filter",
            "message": "The prompt was filtered by the content management policy.",
        },
    ),
    "server_error": (
        500,
        {
            "type": "server_error",
            "code": None,
            "message": "The server had an error while processing your request.",
        },
    ),
    "overloaded": (
        503,
        {"type": "server_error", "code": None, "message": "The engine is currently overloaded."},
    ),
    "invalid_api_key": (
        401,
        {
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "message": "Incorrect API key provided.",
        },
    ),
}


def error_answer(behavior: Behavior) -> tuple[int, dict[str, Any]]:
    """The status and OpenAI-shaped body of an error answer."""
    if behavior.fault is not None:
        status, error = FAULTS[behavior.fault]
    elif 200 <= behavior.status < 300:  # error_rate with no status of its own
        status, error = FAULTS["server_error"]
    elif behavior.status == 429:
        status, error = 429, FAULTS["rate_limited"][1]
    elif behavior.status >= 500:
        status, error = behavior.status, FAULTS["server_error"][1]
    else:
        status = behavior.status
        error = {"type": "invalid_request_error", "code": None, "message": "Bad request."}
    if behavior.status != 200:
        status = behavior.status
    return status, {"error": {"param": None, **error, **(behavior.error or {})}}


_FIELDS = {f.name: f for f in dataclasses.fields(Behavior)}
_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {
    "latency": _NUMBER,
    "latency_jitter": _NUMBER,
    "time_to_first_token": _NUMBER,
    "tokens_per_second": _NUMBER,
    "output_tokens": (int,),
    "input_tokens": (int,),
    "reply": (str,),
    "thinking": (str,),
    "status": (int,),
    "error": (dict,),
    "fault": (str,),
    "error_rate": _NUMBER,
    "stream_error_after": (int,),
    "stall_after": (int,),
    "malformed_after": (int,),
    "omit_done": (bool,),
    "omit_usage": (bool,),
    "finish_reason": (str,),
    "model": (str,),
    "system_fingerprint": (str,),
    "ratelimit_remaining_requests": (int,),
    "ratelimit_remaining_tokens": (int,),
    "headers": (dict,),
    "sse_comments": (bool,),
    "split_data_lines": (bool,),
    "buffer_stream": (bool,),
    "raw_body": (str,),
    "endless_body": (bool,),
    "embedding_dimensions": (int,),
    "embedding_nan": (bool,),
    "image_size": (str,),
    "image_invalid": (bool,),
}


def validate(layer: Any) -> dict[str, Any]:
    """``layer`` checked to be a behaviour dict (known keys, right types); ValueError if not."""
    if not isinstance(layer, dict):
        msg = "a behaviour must be a JSON object"
        raise ValueError(msg)
    for key, value in layer.items():
        if key not in _FIELDS:
            msg = f"unknown behaviour key {key!r}; known: {', '.join(sorted(_FIELDS))}"
            raise ValueError(msg)
        if value is None:
            continue
        types = _TYPES[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            msg = f"behaviour key {key!r} has value {value!r} of the wrong type"
            raise ValueError(msg)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            msg = f"behaviour key {key!r} must not be negative"
            raise ValueError(msg)
    _check_wire_values(layer)
    if layer.get("fault") is not None and layer["fault"] not in FAULTS:
        msg = f"unknown fault {layer['fault']!r}; known: {', '.join(FAULTS)}"
        raise ValueError(msg)
    if not 0.0 <= float(layer.get("error_rate") or 0.0) <= 1.0:
        msg = "error_rate must be a probability between 0 and 1"
        raise ValueError(msg)
    return dict(layer)


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP field name (RFC 9110 token)."""


def _check_wire_values(layer: dict[str, Any]) -> None:
    """Values that would go on the wire as they are: each must be one HTTP can carry.

    Anything else was accepted here and then broke every answer (a dropped connection, a
    500 with a traceback in the mock's log), far from the request that caused it.
    """
    status = layer.get("status")
    if status is not None and not 200 <= status <= 599:
        msg = f"behaviour key 'status' must be an HTTP status from 200 to 599, got {status}"
        raise ValueError(msg)
    size = layer.get("image_size")
    if size is not None and not re.fullmatch(r"[1-9][0-9]{0,4}x[1-9][0-9]{0,4}", size):
        msg = f"behaviour key 'image_size' must be WIDTHxHEIGHT (e.g. 512x512), got {size!r}"
        raise ValueError(msg)
    if layer.get("tokens_per_second") == 0:
        msg = "behaviour key 'tokens_per_second' must be positive (leave it out for no limit)"
        raise ValueError(msg)
    for name, value in (layer.get("headers") or {}).items():
        if not _HEADER_NAME.fullmatch(name):
            msg = f"headers: {name!r} is not a valid HTTP header name"
            raise ValueError(msg)
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            msg = f"headers: the value of {name!r} must be a string without line breaks"
            raise ValueError(msg)


def build(*layers: dict[str, Any]) -> Behavior:
    """The behaviour of a request: later layers override earlier ones key by key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return Behavior(**merged)
