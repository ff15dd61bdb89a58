"""What a validation run will call: each gate's target (and baseline) × prompts × repetitions.

Pure: from the suite and the targets to a list of calls, and the problems that stop a run
(a gate naming a target or prompt set that does not exist), located like config problems.
"""

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiwatch.config.build import kinds_reading
from aiwatch.config.model import Target
from aiwatch.config.problems import Problem
from aiwatch.config.validation import Gate, Margins, Validation
from aiwatch.config.yamlpos import Path, Positions, format_path

PROMPTED_KINDS = kinds_reading("prompts")
"""Kinds that send ``prompts`` (and so can take a prompt set)."""


@dataclass(frozen=True)
class Arm:
    """A target probed with one prompt set: the unit whose calls are measured together."""

    target: str
    prompts: str | None

    @property
    def label(self) -> str:
        """``target`` or ``target[prompt set]``."""
        return self.target if self.prompts is None else f"{self.target}[{self.prompts}]"


@dataclass(frozen=True)
class Call:
    """One planned call: the arm, its target as probed, and which prompt."""

    arm: Arm
    target: Target
    prompt_index: int


def arms_of(gate: Gate) -> tuple[Arm, Arm | None]:
    """The gate's candidate arm and its baseline arm (same prompts), if any."""
    candidate = Arm(gate.target, gate.prompts)
    baseline = None if gate.baseline is None else Arm(gate.baseline, gate.prompts)
    return candidate, baseline


def plan(suite: Validation, targets: Sequence[Target], gates: Iterable[Gate]) -> list[Call]:
    """Every call of the run, interleaved across arms so that a cut keeps them comparable."""
    by_name = {t.name: t for t in targets}
    arms: dict[Arm, None] = {}
    for gate in gates:
        for arm in arms_of(gate):
            if arm is not None:
                arms.setdefault(arm)
    queues = [_calls(arm, by_name[arm.target], suite) for arm in arms]
    out: list[Call] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


def _calls(arm: Arm, target: Target, suite: Validation) -> list[Call]:
    if arm.prompts is not None:
        target = dataclasses.replace(target, prompts=suite.prompt_sets[arm.prompts])
    count = len(target.prompts) if target.kind in PROMPTED_KINDS else 1
    return [Call(arm, target, prompt_index=i % count) for i in range(count * suite.repetitions)]


def problems(
    suite: Validation, targets: Sequence[Target], *, file: str, positions: Positions
) -> list[Problem]:
    """What stops the suite from running: unknown targets or prompt sets, misplaced keys."""
    by_name = {t.name: t for t in targets}
    out: list[Problem] = []

    def add(path: Path, message: str) -> None:
        line, col = positions.of(path)
        out.append(Problem(file, line, col, format_path(path), message))

    known = ", ".join(sorted(by_name)) or "none"
    for i, gate in enumerate(suite.gates):
        at: Path = ("validation", "gates", i)
        for key, name in (("target", gate.target), ("baseline", gate.baseline)):
            if name is not None and name not in by_name:
                add((*at, key), f"no target named {name!r} (targets: {known})")
        if gate.baseline is not None and gate.baseline == gate.target:
            add((*at, "baseline"), "the baseline must be another target")
        if gate.baseline is None and gate.margins != Margins():
            add((*at, "non_inferiority"), "needs a baseline to compare with: set baseline")
        if gate.prompts is not None:
            if gate.prompts not in suite.prompt_sets:
                sets = ", ".join(sorted(suite.prompt_sets)) or "none"
                add((*at, "prompts"), f"no prompt set named {gate.prompts!r} (prompt sets: {sets})")
            for name in (gate.target, gate.baseline):
                target = by_name.get(name or "")
                if target is not None and target.kind not in PROMPTED_KINDS:
                    add(
                        (*at, "prompts"),
                        f"target {name!r} is kind {target.kind}: it sends no prompts",
                    )
    return out
