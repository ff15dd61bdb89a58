"""Series identities and selector matchers of the local sample store."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from aiwatch.golang.regexp import Regexp, compile_anchored

Labels = tuple[tuple[str, str], ...]
"""A series' identity: ``(name, value)`` pairs sorted by name, ``__name__`` included."""

MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True)
class LabelMatcher:
    """One selector matcher; regexes are fully anchored as in Prometheus."""

    name: str
    op: MatchOp
    value: str
    _regex: Regexp | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                compiled = compile_anchored(self.value)
            except ValueError as err:
                msg = f"label {self.name!r}: {err}"
                raise ValueError(msg) from None
            object.__setattr__(self, "_regex", compiled)

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` when the label is missing) satisfies this matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self._regex is not None  # set in __post_init__ for regex operators
        found = self._regex.matches(value)
        return found if self.op == "=~" else not found


def format_labels(labels: Labels | Mapping[str, str]) -> str:
    """Labels as Prometheus prints them: ``name{a="1", b="2"}``."""
    pairs = sorted(labels.items()) if isinstance(labels, Mapping) else list(labels)
    name = ""
    parts = []
    for k, v in pairs:
        if k == "__name__":
            name = v
        else:
            parts.append(f"{k}={_go_quote(v)}")
    return name + "{" + ", ".join(parts) + "}"


def _go_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
