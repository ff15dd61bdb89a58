"""What a rule file says, parsed once into frozen dataclasses."""

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class RuleSpec:
    """One ``alert:`` or ``record:`` rule as written in a rule file."""

    kind: Literal["alert", "record"]
    name: str
    expr: str
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GroupSpec:
    """One rule group; ``interval_s`` is None when the file leaves it to the global default."""

    name: str
    file: str
    rules: tuple[RuleSpec, ...] = field(default_factory=tuple)
    interval_s: float | None = None
    limit: int = 0
