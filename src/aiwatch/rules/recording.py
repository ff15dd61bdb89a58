"""Recording rules: the expression's result, renamed and relabelled, written back at eval time."""

from collections.abc import Sequence

from aiwatch.rules.model import RuleSpec
from aiwatch.rules.types import OutSample, QueriedSample, RuleEvalError


class RecordingRule:
    """A ``record:`` rule."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.health = "unknown"
        self.last_error: str | None = None
        self.last_evaluation_ms: int | None = None
        self.evaluation_seconds = 0.0

    def evaluate(
        self, t_ms: int, samples: Sequence[QueriedSample], *, limit: int = 0
    ) -> list[OutSample]:
        """The samples to store for this evaluation; Prometheus' ``RecordingRule.Eval``."""
        out: list[OutSample] = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        for sample in samples:
            labels = dict(sample.labels)
            labels["__name__"] = self.name
            for name, value in self.spec.labels:
                # Like labels.Builder.Set: an empty value removes the label.
                if value:
                    labels[name] = value
                else:
                    labels.pop(name, None)
            key = tuple(sorted(labels.items()))
            if key in seen:
                msg = "vector contains metrics with the same labelset after applying rule labels"
                raise RuleEvalError(msg)
            seen.add(key)
            out.append(OutSample(labels, t_ms, sample.value))
        if 0 < limit < len(out):
            msg = f"exceeded limit of {limit} with {len(out)} series"
            raise RuleEvalError(msg)
        return out
