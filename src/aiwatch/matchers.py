"""Alertmanager-style label matchers: ``name="v"``, ``!=``, ``=~`` and ``!~``."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from aiwatch.golang.regexp import Regexp, compile_anchored

Op = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(
    r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^"\s,{}]*)\s*$'
)


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are Go's (RE2), anchored, as in Prometheus and Alertmanager.

    A regex is compiled when the matcher is made, so a bad one is refused there with Go's
    message, and matching any label value takes time linear in its length.
    """

    name: str
    op: Op
    value: str
    _regex: Regexp | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", compile_anchored(self.value))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None  # set in __post_init__ for regex operators
        found = self._regex.matches(actual)
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value)}"


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher; ``ValueError`` names what is wrong."""
    match = _MATCHER.match(text)
    if match is None:
        msg = f'{text!r} is not a valid matcher (want name="value", !=, =~ or !~)'
        raise ValueError(msg)
    name, op, raw = match.groups()
    value = json.loads(raw) if raw.startswith('"') else raw
    try:
        return Matcher(name=name, op=op, value=value)  # type: ignore[arg-type]
    except ValueError as err:
        msg = f"{text!r}: invalid regular expression: {err}"
        raise ValueError(msg) from None


def matches_all(matchers: tuple[Matcher, ...] | list[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher holds for ``labels``."""
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True)
class _Unusable(Matcher):
    """A stored matcher whose regex Go's syntax refuses: it holds for no labels."""

    def __post_init__(self) -> None:
        pass

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Never: a silence or route with this matcher applies to nothing."""
        return False


def restore_matcher(text: str) -> Matcher:
    """A matcher read back from storage, where an earlier version may have kept a pattern
    that is no longer valid (a look-ahead, say): that matcher holds for no labels, and is
    still shown as written."""
    try:
        return parse_matcher(text)
    except ValueError:
        match = _MATCHER.match(text)
        if match is None:
            raise
        name, op, raw = match.groups()
        value = json.loads(raw) if raw.startswith('"') else raw
        return _Unusable(name=name, op=op, value=value)  # type: ignore[arg-type]
