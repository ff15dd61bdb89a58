"""What an analysis returns: one row per variant × metric, the SRM check and the verdict."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiwatch.stats.guards import Guard

if TYPE_CHECKING:  # the module loads SciPy; a result is built by ``analysis``, which has it
    from aiwatch.stats.power import Power

Outcome = Literal["better", "worse"]


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One arm on one metric; the control's own row carries only ``n`` and ``mean``."""

    metric: str
    variant: str
    n: int
    mean: float | None
    lift: float | None = None
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = None
    chance_to_win: float | None = None
    risk: tuple[float, float] | None = None
    significant: bool = False
    guard: Guard | None = None
    outcome: Outcome | None = None
    """``better``/``worse`` than the control in the metric's goal direction, when significant."""
    power: "Power | None" = None
    """Against the metric's ``minimum_effect``, when one is configured."""

    def to_json(self) -> dict[str, Any]:
        """The row as docs/experiments.md shows it in ``GET /api/v1/experiments/{name}``."""
        return {
            "metric": self.metric,
            "variant": self.variant,
            "n": self.n,
            "mean": self.mean,
            "lift": self.lift,
            "ci": list(self.ci) if self.ci is not None else None,
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "chance_to_win": self.chance_to_win,
            "risk": list(self.risk) if self.risk is not None else None,
            "significant": self.significant,
            "guard": self.guard.value if self.guard is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision: a winning variant, or none and why not."""

    winner: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """``{"winner": …, "reason": …}``."""
        return {"winner": self.winner, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """The full analysis of one experiment at one moment."""

    name: str
    method: str
    difference: str
    correction: str
    alpha: float
    srm_p_value: float
    srm: bool
    verdict: Verdict
    results: tuple[ResultRow, ...]

    def row(self, *, variant: str, metric: str) -> ResultRow:
        """The row of ``variant`` on ``metric``."""
        for r in self.results:
            if r.variant == variant and r.metric == metric:
                return r
        msg = f"no result for variant {variant!r} on metric {metric!r}"
        raise KeyError(msg)

    def to_json(self) -> dict[str, Any]:
        """The analysis part of ``GET /api/v1/experiments/{name}`` (the caller adds ``state``).

        Besides the result keys, ``power`` lists, for metrics with a ``minimum_effect``, the
        power reached and the samples per arm still needed.
        """
        return {
            "name": self.name,
            "method": self.method,
            "difference": self.difference,
            "correction": self.correction,
            "srm_p_value": self.srm_p_value,
            "srm": self.srm,
            "verdict": self.verdict.to_json(),
            "results": [r.to_json() for r in self.results],
            "power": [
                {
                    "metric": r.metric,
                    "variant": r.variant,
                    "minimum_effect": r.power.minimum_effect,
                    "power": r.power.power,
                    "n_per_arm": r.power.n_per_arm,
                    "samples_needed": r.power.samples_needed,
                }
                for r in self.results
                if r.power is not None
            ],
        }
