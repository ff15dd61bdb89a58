"""A target's health from its probes (up, degraded, down), logged once per change."""

import logging
from typing import Literal

from aiwatch.probes.result import ProbeResult

log = logging.getLogger("aiwatch.probes")

Health = Literal["up", "degraded", "down"]

# The endpoint answered, but not as expected: a failed ``expect`` check or a rate limit.
_DEGRADED = frozenset({"validation_failed", "rate_limited"})


def health_of(result: ProbeResult) -> Health:
    """``up`` for a passing probe; ``degraded`` when the endpoint answered but a check
    failed or it was rate-limited; ``down`` for any other failure."""
    if result.success:
        return "up"
    return "degraded" if result.error_type in _DEGRADED else "down"


_MESSAGE: dict[Health, str] = {
    "up": "Target up",
    "degraded": "Target degraded",
    "down": "Target down",
}


class HealthLog:
    """A probe listener: one info line when a target changes health, not one per probe.

    A target's first result is logged only when it is not ``up``, so a start with ten
    healthy targets stays quiet while one broken target is named at once.
    """

    def __init__(self) -> None:
        self.health: dict[str, Health] = {}

    def __call__(self, result: ProbeResult) -> None:
        """Record ``result``; log if the target's health changed."""
        now = health_of(result)
        before = self.health.get(result.target)
        self.health[result.target] = now
        if now == before or (before is None and now == "up"):
            return
        extra: dict[str, object] = {"target": result.target}
        if before is not None:
            extra["was"] = before
        if not result.success:
            extra["error_type"] = result.error_type
            extra["error"] = result.error
        log.info(_MESSAGE[now], extra=extra)

    def forget(self, names: set[str]) -> None:
        """Drop targets no longer configured (a re-added one starts afresh)."""
        for name in set(self.health) - names:
            del self.health[name]
