"""The pages' own state, kept apart so that ``app.keys`` can name it without a cycle."""

import os
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple, cast

from aiwatch.probes.result import Check, ProbeResult

RECENT_PROBES = 20
"""Probes a target's page lists (the latest first)."""

_Row = tuple[float | bool | int | str | None, ...]
"""What a target's page shows of a probe: ``finished_at, success, status_code, duration,
time_to_first_token, error_type, error``, then ``name, ok, detail`` of each check, in one
flat tuple of plain values. The cyclic collector stops tracking such a tuple at the first
collection that sees it (a nested one only at the third, by then in the oldest generation);
kept ``ProbeResult`` objects, 20 per target, it would walk at every full collection."""
_FIELDS = 7


class ProbeRow(NamedTuple):
    """One probe in a target's list of last probes."""

    finished_at: float
    success: bool
    status_code: int | None
    duration: float
    time_to_first_token: float | None
    checks: tuple[Check, ...]
    error_type: str | None
    error: str | None


@dataclass
class Pages:
    """The pages' own state: the CSRF secret of this process and each target's last probes."""

    secret: bytes = field(default_factory=lambda: os.urandom(32))
    recent: dict[str, deque[_Row]] = field(default_factory=dict)

    def on_probe(self, result: ProbeResult) -> None:
        """A probe listener: keep the target's last ``RECENT_PROBES`` results."""
        ring = self.recent.setdefault(result.target, deque(maxlen=RECENT_PROBES))
        row: _Row = (
            result.finished_at,
            result.success,
            result.status_code,
            result.duration,
            result.time_to_first_token,
            result.error_type,
            result.error,
        )
        for check in result.checks:
            row += (check.name, check.ok, check.detail)
        ring.appendleft(row)

    def recent_probes(self, target: str) -> list[ProbeRow]:
        """The target's last probes, the latest first."""
        return [_probe_row(row) for row in self.recent.get(target, ())]


def _probe_row(row: _Row) -> ProbeRow:
    finished_at, success, status_code, duration, ttft, error_type, error = row[:_FIELDS]
    flat = row[_FIELDS:]
    checks = tuple(
        Check(str(flat[i]), bool(flat[i + 1]), str(flat[i + 2])) for i in range(0, len(flat), 3)
    )
    return ProbeRow(
        finished_at=cast(float, finished_at),
        success=bool(success),
        status_code=cast(int | None, status_code),
        duration=cast(float, duration),
        time_to_first_token=cast(float | None, ttft),
        checks=checks,
        error_type=cast(str | None, error_type),
        error=cast(str | None, error),
    )
