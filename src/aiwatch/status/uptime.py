"""Uptime figures and the 90-day bar from hourly counts (pure functions, no I/O)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from aiwatch.status.rollups import HOUR, Counts, Key

DAY = 86400
DAYS = 90
WINDOWS: tuple[tuple[str, int], ...] = (
    ("24h", 24),
    ("7d", 7 * 24),
    ("30d", 30 * 24),
    ("90d", 90 * 24),
)
"""Each uptime window's name and length in hours (the current hour included)."""
DOWN_ABOVE = 0.05
"""A day with more than this share of failed probes is ``down``; with fewer, ``degraded``."""

DayStatus = Literal["up", "degraded", "down", "none"]


@dataclass(frozen=True)
class Day:
    """One UTC day of the bar."""

    date: str
    status: DayStatus
    counts: Counts

    @property
    def uptime(self) -> float | None:
        """Passed ÷ probes this day, None without probes."""
        return ratio(self.counts)


@dataclass(frozen=True)
class Uptime:
    """A target's (or a feature's) uptime per window, and its days, oldest first."""

    windows: dict[str, float | None]
    days: tuple[Day, ...]


def ratio(counts: Counts) -> float | None:
    """Passed ÷ probes, None without probes."""
    return counts.successes / counts.probes if counts.probes else None


def day_status(counts: Counts) -> DayStatus:
    """``up``: all passed, none degraded; ``degraded``: some degraded or at most 5 % failed;
    ``down``: more failed; ``none``: no probe."""
    if not counts.probes:
        return "none"
    failed = counts.probes - counts.successes
    if failed == 0:
        return "degraded" if counts.degraded else "up"
    return "degraded" if failed <= DOWN_ABOVE * counts.probes else "down"


def summed(counts: Mapping[Key, Counts], targets: Iterable[str]) -> dict[int, Counts]:
    """Hour → the counts of ``targets`` added together."""
    names = set(targets)
    out: dict[int, Counts] = {}
    for (target, hour), c in counts.items():
        if target in names:
            out.setdefault(hour, Counts()).add(c)
    return out


def uptime(hours: Mapping[int, Counts], *, now: float) -> Uptime:
    """Uptime over each window and the last ``DAYS`` days from hourly counts."""
    current = int(now) // HOUR * HOUR
    windows: dict[str, float | None] = {}
    for name, length in WINDOWS:
        total = Counts()
        for hour, c in hours.items():
            if current - (length - 1) * HOUR <= hour <= current:
                total.add(c)
        windows[name] = ratio(total)
    today = int(now) // DAY * DAY
    first = today - (DAYS - 1) * DAY
    per_day = {first + n * DAY: Counts() for n in range(DAYS)}
    for hour, c in hours.items():
        start = hour // DAY * DAY
        if start in per_day:
            per_day[start].add(c)
    days = tuple(
        Day(datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d"), day_status(c), c)
        for start, c in sorted(per_day.items())
    )
    return Uptime(windows, days)


def percent(value: float | None) -> str:
    """``99.95%`` (two decimals, never rounded up to 100 %), or ``–`` without probes."""
    if value is None:
        return "–"
    if value >= 1.0:
        return "100%"
    return f"{min(value * 100, 99.99):.2f}%"
