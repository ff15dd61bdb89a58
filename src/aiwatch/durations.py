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


def is_duration(text: str) -> bool:
    """Whether ``text`` is a Prometheus duration (``0`` included)."""
    return text == "0" or (bool(text) and _PATTERN.match(text) is not None)


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration; ``ValueError`` for anything else."""
    if text == "0":
        return 0.0
    match = _PATTERN.match(text) if text else None
    if match is None:
        msg = f"{text!r} is not a valid duration"
        raise ValueError(msg)
    return sum(int(g) * unit for g, (_, unit) in zip(match.groups(), _UNITS, strict=True) if g)


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
