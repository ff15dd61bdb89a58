"""What one probe measured: a frozen record the scheduler, metrics and debug output read."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ErrorType = Literal[
    "timeout",
    "connection",
    "rate_limited",
    "quota_exceeded",
    "server_error",
    "overloaded",
    "client_error",
    "invalid_response",
    "stream_error",
    "stream_stalled",
    "context_length_exceeded",
    "content_filter",
    "validation_failed",
]
"""The closed set of failure causes (docs/metrics.md); safe as a metric label value."""

ERROR_TYPES: tuple[ErrorType, ...] = (
    "timeout",
    "connection",
    "rate_limited",
    "quota_exceeded",
    "server_error",
    "overloaded",
    "client_error",
    "invalid_response",
    "stream_error",
    "stream_stalled",
    "context_length_exceeded",
    "content_filter",
    "validation_failed",
)


@dataclass(frozen=True)
class Check:
    """One ``expect`` check and its verdict, e.g. ``Check("contains", False, "not in reply")``."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Everything one probe of one target measured; times in seconds."""

    target: str
    success: bool
    error_type: ErrorType | None
    error: str | None
    """A human message; never contains the API key or secret header values."""
    status_code: int | None
    duration: float
    """Request start to the last byte read (or to the failure)."""
    time_to_first_byte: float | None
    time_to_first_token: float | None
    time_per_output_token: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    ratelimit_remaining_requests: float | None
    ratelimit_remaining_tokens: float | None
    response_model: str | None
    system_fingerprint: str | None
    embedding_dimensions: int | None
    checks: tuple[Check, ...]
    started_at: float
    """Wall clock (Unix seconds) when the request started."""
    finished_at: float
    request_summary: str
    """Method, URL, headers and body with secrets redacted, for debug output."""
    response_excerpt: str
    """The first ~2 KB of the body (or of the streamed reply), for debug output."""
    output_tokens_estimated: bool = False
    """``output_tokens`` counts content chunks: the endpoint sent no usage."""
    content_chunks: int = 0
    """Streaming: chunks that carried content."""
    chunk_gap_counts: tuple[int, ...] = ()
    """Streaming: the gaps between content chunks, counted per bucket of
    ``metrics.CHUNK_GAP_BUCKETS`` (the last one is the overflow); empty without gaps."""
    chunk_gap_sum: float = 0.0
    longest_chunk_gap: float | None = None
    stream_buffered: bool | None = None
    """Streaming: whether the content arrived in one burst; None when not streamed."""
    ratelimit_remaining_other: tuple[tuple[str, float], ...] = ()
    """Headroom of the other rate-limited resources (``input_tokens``, ``output_tokens``)."""
    ratelimit_reset: tuple[tuple[str, float], ...] = ()
    """Seconds from the answer until each rate limit (by resource) is full again."""
    retry_after: float | None = None
    """The answer's ``retry-after``, in seconds."""
    images: int | None = None
    """Image generation: the images the answer holds."""
    image: str | None = None
    """Image generation: the first image's media type and size (``image/png 1024x1024``)."""


ProbeListener = Callable[[ProbeResult], None]
"""Called on the event loop with each scheduled probe's result (running experiments listen)."""
