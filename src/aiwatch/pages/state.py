"""The pages' own state, kept apart so that ``app.keys`` can name it without a cycle."""

import os
from collections import deque
from dataclasses import dataclass, field

from aiwatch.probes.result import ProbeResult

RECENT_PROBES = 20
"""Probes a target's page lists (the latest first)."""


@dataclass
class Pages:
    """The pages' own state: the CSRF secret of this process and each target's last probes."""

    secret: bytes = field(default_factory=lambda: os.urandom(32))
    recent: dict[str, deque[ProbeResult]] = field(default_factory=dict)

    def on_probe(self, result: ProbeResult) -> None:
        """A probe listener: keep the target's last ``RECENT_PROBES`` results."""
        ring = self.recent.setdefault(result.target, deque(maxlen=RECENT_PROBES))
        ring.appendleft(result)
