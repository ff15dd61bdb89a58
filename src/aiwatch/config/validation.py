"""The ``validation:`` block of a suite file: gates, thresholds, margins and the budget."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiwatch.config.prompts import Prompt
from aiwatch.durations import parse_duration


@dataclass(frozen=True)
class Thresholds:
    """Limits one target's calls must meet; ``None`` is not checked. Times in seconds."""

    min_success_ratio: float | None = None
    max_latency_p50: float | None = None
    max_latency_p95: float | None = None
    max_time_to_first_token_p95: float | None = None
    max_time_per_output_token: float | None = None
    max_cost_per_call: float | None = None
    allowed_errors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Margins:
    """Non-inferiority margins against the baseline; ``None`` is not compared.

    ``success_ratio`` is absolute (0.01 = one point); the others are relative (0.1 = 10 %).
    """

    success_ratio: float | None = None
    latency: float | None = None
    time_to_first_token: float | None = None
    time_per_output_token: float | None = None
    cost_per_call: float | None = None


@dataclass(frozen=True)
class Gate:
    """One target to validate, with its prompt set, thresholds and optional baseline."""

    target: str
    prompts: str | None = None
    baseline: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    margins: Margins = field(default_factory=Margins)


@dataclass(frozen=True)
class Validation:
    """A validation suite: what ``aiwatch validate`` runs."""

    gates: tuple[Gate, ...]
    prompt_sets: dict[str, tuple[Prompt, ...]] = field(default_factory=dict)
    repetitions: int = 10
    concurrency: int = 4
    max_calls: int = 1000
    max_cost: float | None = None
    alpha: float = 0.05


def _opt_seconds(value: str | None) -> float | None:
    return None if value is None else parse_duration(value)


def build_validation(
    doc: dict[str, Any],
    skip: tuple[type[Exception], ...],
    *,
    expand: Callable[[Any], tuple[Prompt, ...]],
) -> Validation:
    """The suite from a schema-valid ``validation:`` mapping (items missing keys skipped).

    ``expand`` turns one item into its prompts as ``targets[].prompts`` does (a prompt
    folder is one prompt per image), so prompt sets take whatever a target's prompts take.
    """
    gates = []
    for g in doc.get("gates", []):
        try:
            gates.append(_gate(g))
        except skip:
            continue
    return Validation(
        gates=tuple(gates),
        prompt_sets={
            name: tuple(p for item in prompts for p in expand(item))
            for name, prompts in doc.get("prompt_sets", {}).items()
        },
        repetitions=doc.get("repetitions", 10),
        concurrency=doc.get("concurrency", 4),
        max_calls=doc.get("max_calls", 1000),
        max_cost=doc.get("max_cost"),
        alpha=doc.get("alpha", 0.05),
    )


def _gate(g: dict[str, Any]) -> Gate:
    t = g.get("thresholds", {})
    m = g.get("non_inferiority", {})
    allowed = t.get("allowed_errors")
    return Gate(
        target=g["target"],
        prompts=g.get("prompts"),
        baseline=g.get("baseline"),
        thresholds=Thresholds(
            min_success_ratio=t.get("min_success_ratio"),
            max_latency_p50=_opt_seconds(t.get("max_latency_p50")),
            max_latency_p95=_opt_seconds(t.get("max_latency_p95")),
            max_time_to_first_token_p95=_opt_seconds(t.get("max_time_to_first_token_p95")),
            max_time_per_output_token=_opt_seconds(t.get("max_time_per_output_token")),
            max_cost_per_call=t.get("max_cost_per_call"),
            allowed_errors=None if allowed is None else tuple(allowed),
        ),
        margins=Margins(**{k: m.get(k) for k in Margins.__dataclass_fields__}),
    )
