"""Small pictures drawn as inline SVG: sparklines and intervals. Pure functions, no I/O."""

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sparkline:
    """A polyline's points in a ``width`` x ``height`` box, and the range it shows."""

    points: str
    width: int
    height: int
    low: float
    high: float
    last: float


def sparkline(
    values: Sequence[float | None], *, width: int = 240, height: int = 40
) -> Sparkline | None:
    """The points of ``values`` (gaps skipped) scaled into the box; None with under two."""
    finite = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(finite) < 2:
        return None
    low = min(v for _, v in finite)
    high = max(v for _, v in finite)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    pad = 2
    points = " ".join(
        f"{i * step:.1f},{pad + (height - 2 * pad) * (1 - (v - low) / span):.1f}" for i, v in finite
    )
    return Sparkline(points, width, height, low, high, finite[-1][1])


@dataclass(frozen=True)
class Bar:
    """One variant's interval on a shared axis, in percent of the axis width."""

    label: str
    left: float
    right: float
    mid: float


@dataclass(frozen=True)
class Axis:
    """Intervals on one axis with where zero is (lift 0: no difference), in percent."""

    bars: tuple[Bar, ...]
    zero: float
    low: float
    high: float


def intervals(rows: Sequence[tuple[str, float, float, float]]) -> Axis | None:
    """``(label, low, estimate, high)`` rows on one axis that includes zero; None if empty."""
    usable = [r for r in rows if all(math.isfinite(x) for x in r[1:])]
    if not usable:
        return None
    low = min(0.0, *(r[1] for r in usable))
    high = max(0.0, *(r[3] for r in usable))
    margin = (high - low) * 0.05 or 1.0
    low, high = low - margin, high + margin

    def at(x: float) -> float:
        return round(100 * (x - low) / (high - low), 2)

    bars = tuple(Bar(label, at(lo), at(hi), at(mid)) for label, lo, mid, hi in usable)
    return Axis(bars, at(0.0), low, high)
