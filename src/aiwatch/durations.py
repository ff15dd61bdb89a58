"""Prometheus duration syntax (``1m30s``, ``2h``, ``500ms``) to seconds and back."""

import re

_UNITS = (
    ("y", 365 * 86400.0),
    ("w", 7 * 86400.0),
    ("d", 86400.0),
    ("h", 3600.0),
    ("m", 60.0),
    ("s", 1.0),
    ("ms", 0.001),
)
_PATTERN = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
# Prometheus durations are Go time.Durations (int64 nanoseconds, about 292 years); longer ones
# are "duration out of range" there, so they are invalid here too.
_MAX_MS = (2**63 - 1) // 1_000_000


def _milliseconds(text: str) -> int | None:
    if text == "0":
        return 0
    match = _PATTERN.match(text) if text else None
    if match is None:
        return None
    ms = sum(
        int(g) * round(unit * 1000)
        for g, (_, unit) in zip(match.groups(), _UNITS, strict=True)
        if g
    )
    return ms if ms <= _MAX_MS else None


def is_duration(text: str) -> bool:
    """Whether ``text`` is a Prometheus duration (``0`` included) within Prometheus' range."""
    return _milliseconds(text) is not None


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration; ``ValueError`` for anything else."""
    ms = _milliseconds(text)
    if ms is None:
        msg = f"{text!r} is not a valid duration"
        raise ValueError(msg)
    return ms / 1000


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for ``seconds`` (millisecond precision)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for suffix, unit in _UNITS:
        unit_ms = round(unit * 1000)
        if ms >= unit_ms:
            out.append(f"{ms // unit_ms}{suffix}")
            ms %= unit_ms
    return "".join(out)
