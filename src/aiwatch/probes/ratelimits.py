"""Rate-limit headroom from response headers: what is left, when it resets, when to retry.

Pure functions of the headers and the time the answer came. OpenAI sends
``x-ratelimit-{remaining,reset}-{requests,tokens}`` (resets as Go durations, ``6m0s``);
Anthropic sends ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
{remaining,reset}`` (resets as RFC 3339 times); both send ``retry-after`` on a 429 (and
Anthropic on a 529), in seconds or as an HTTP date.
"""

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

RESOURCES = ("requests", "tokens", "input_tokens", "output_tokens")
"""The ``resource`` label values of the rate-limit series."""
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


@dataclass
class RateLimits:
    """What one answer's headers said; empty when they said nothing."""

    remaining: dict[str, float] = field(default_factory=dict)
    reset: dict[str, float] = field(default_factory=dict)
    """Seconds from the answer until each limit is full again."""
    retry_after: float | None = None


def read(headers: Mapping[str, str], *, now: float) -> RateLimits:
    """The headroom, resets and ``retry-after`` in ``headers`` of an answer at Unix ``now``."""
    out = RateLimits()
    for resource in RESOURCES:
        openai = resource in ("requests", "tokens")
        remaining = headers.get(f"x-ratelimit-remaining-{resource}") if openai else None
        value = _number(remaining)
        if value is None:
            value = _number(headers.get(_anthropic(resource, "remaining")))
        if value is not None:
            out.remaining[resource] = value
        reset = go_duration(headers.get(f"x-ratelimit-reset-{resource}")) if openai else None
        if reset is None:
            reset = _until(headers.get(_anthropic(resource, "reset")), now)
        if reset is not None:
            out.reset[resource] = reset
    out.retry_after = retry_after(headers.get("retry-after"), now=now)
    return out


def _anthropic(resource: str, what: str) -> str:
    return f"anthropic-ratelimit-{resource.replace('_', '-')}-{what}"


def go_duration(text: str | None) -> float | None:
    """A Go duration (``6m0s``, ``1.5s``, ``20ms``) in seconds, or None."""
    if not text:
        return None
    text = text.strip()
    pieces = _GO_DURATION.findall(text)
    if not pieces or "".join(n + u for n, u in pieces) != text:
        return None
    return sum(float(n) * _GO_UNITS[u] for n, u in pieces)


def retry_after(text: str | None, *, now: float) -> float | None:
    """``retry-after`` in seconds from ``now``: a number of seconds or an HTTP date."""
    seconds = _number(text)
    if seconds is not None:
        return max(seconds, 0.0)
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now, 0.0)


def _until(text: str | None, now: float) -> float | None:
    """Seconds from ``now`` to an RFC 3339 time (never negative), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return max(moment.timestamp() - now, 0.0)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
