"""A target's state — up, degraded or down — from its last probe and its ``slo:`` objectives.

* **down**: the last probe failed;
* **degraded**: the last probe passed, but a latency or TTFT quantile of the successful
  probes within the ``slo.window`` is over its objective;
* **up**: the last probe passed and every objective is met (or there is none);
* **unknown**: not probed yet by this run (or by another shard).

The timings are kept in memory, a bounded window per target, so a restart starts afresh.
"""

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiwatch.clock import Clock, SystemClock
from aiwatch.config.model import Objective, Target
from aiwatch.probes.result import ProbeResult

State = Literal["up", "degraded", "down", "unknown"]
STATES: tuple[State, ...] = ("up", "degraded", "down", "unknown")
MAX_KEPT = 4096
"""Timings kept per target, whatever its interval and window."""


@dataclass(frozen=True)
class Measured:
    """One objective and what the window's probes measured (None: no probe measured it)."""

    objective: Objective
    value: float | None

    @property
    def met(self) -> bool:
        """Whether the objective holds (one nothing measured is not counted as missed)."""
        return self.value is None or self.value <= self.objective.seconds

    def to_json(self) -> dict[str, Any]:
        """One entry of a target's ``objectives`` in ``/api/v1/targets``."""
        return {
            "name": self.objective.name,
            "objective_seconds": self.objective.seconds,
            "measured_seconds": self.value,
            "met": self.met,
        }


@dataclass(frozen=True)
class TargetState:
    """What the overview, the status page and ``/api/v1/targets`` show for one target."""

    state: State
    reason: str
    objectives: tuple[Measured, ...] = ()
    last_probe_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``state`` block of a target in ``/api/v1/targets``."""
        return {
            "state": self.state,
            "reason": self.reason,
            "objectives": [m.to_json() for m in self.objectives],
        }


UNKNOWN = TargetState("unknown", "not probed yet")


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (sorted), interpolated linearly between ranks."""
    rank = (len(values) - 1) * q
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


def _measure(
    objective: Objective, samples: Iterable[tuple[float, float, float | None]]
) -> Measured:
    pick = 1 if objective.name.startswith("latency") else 2
    values = sorted(v for s in samples if (v := s[pick]) is not None)
    return Measured(objective, quantile(values, objective.quantile) if values else None)


def judge(
    target: Target,
    *,
    last: ProbeResult | None,
    samples: Iterable[tuple[float, float, float | None]],
) -> TargetState:
    """The state of ``target`` from its last result and its successful probes' timings
    ``(finished_at, duration, time_to_first_token)`` within the window (a pure function)."""
    if last is None:
        return UNKNOWN
    at = last.finished_at
    if not last.success:
        why = last.error or last.error_type or "the last probe failed"
        return TargetState("down", why, last_probe_at=at)
    if target.slo is None:
        return TargetState("up", "the last probe passed", last_probe_at=at)
    kept = list(samples)
    measured = tuple(_measure(o, kept) for o in target.slo.objectives)
    missed = [m for m in measured if not m.met]
    if not missed:
        return TargetState("up", "the last probe passed; objectives met", measured, at)
    why = ", ".join(
        f"{m.objective.name} {m.value:.3g}s > {m.objective.seconds:g}s"
        for m in missed
        if m.value is not None
    )
    return TargetState("degraded", why, measured, at)


class TargetStates:
    """A probe listener that keeps each target's recent timings and its current state.

    ``on_change`` callbacks hear ``(target, new, old)`` when a probe moves a target to
    another state (the event stream publishes them).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._targets: dict[str, Target] = {}
        self._samples: dict[str, deque[tuple[float, float, float | None]]] = {}
        self._last: dict[str, ProbeResult] = {}
        self._states: dict[str, TargetState] = {}
        self.on_change: list[Callable[[Target, TargetState, TargetState], None]] = []

    def configure(self, targets: Iterable[Target]) -> None:
        """Take a (re)loaded target list; removed targets are forgotten."""
        self._targets = {t.name: t for t in targets}
        for kept in (self._samples, self._last, self._states):
            for name in [n for n in kept if n not in self._targets]:
                del kept[name]

    def __call__(self, result: ProbeResult) -> None:
        """Note one scheduled probe's result (a ``ProbeListener``)."""
        target = self._targets.get(result.target)
        if target is None:
            return
        self._last[target.name] = result
        if result.success and target.slo is not None:
            samples = self._samples.setdefault(target.name, deque(maxlen=MAX_KEPT))
            samples.append((result.finished_at, result.duration, result.time_to_first_token))
        old = self._states.get(target.name, UNKNOWN)
        new = self.state(target.name)
        self._states[target.name] = new
        if new.state != old.state:
            for callback in self.on_change:
                callback(target, new, old)

    def last_state(self, name: str) -> State:
        """The state the target's last probe left it in (no work: for per-probe listeners)."""
        return self._states.get(name, UNKNOWN).state

    def state(self, name: str) -> TargetState:
        """The target's state now: its last result, and the objectives over its window."""
        target = self._targets.get(name)
        if target is None:
            return UNKNOWN
        samples = self._samples.get(name, deque())
        if target.slo is not None:
            since = self.clock.now() - target.slo.window
            while samples and samples[0][0] < since:
                samples.popleft()
        return judge(target, last=self._last.get(name), samples=samples)
