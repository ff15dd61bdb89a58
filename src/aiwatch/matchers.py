"""Alertmanager-style label matchers: ``name="v"``, ``!=``, ``=~`` and ``!~``."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Op = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(
    r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^"\s,{}]*)\s*$'
)


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored, as in Prometheus and Alertmanager."""

    name: str
    op: Op
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
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
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as err:
            msg = f"{text!r}: invalid regular expression: {err}"
            raise ValueError(msg) from None
    return Matcher(name=name, op=op, value=value)  # type: ignore[arg-type]


def matches_all(matchers: tuple[Matcher, ...] | list[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher holds for ``labels``."""
    return all(m.matches(labels) for m in matchers)
