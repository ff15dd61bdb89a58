"""The query parameters of Alertmanager's API v2: ``filter`` matchers, flags, ``receiver``."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from aiwatch.golang.regexp import Regexp, compile_anchored
from aiwatch.incidents.silences import Silence
from aiwatch.matchers import Matcher, Op

MAX_FILTERS = 64

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


class BadParameter(ValueError):
    """A query parameter Alertmanager would refuse; the message is its 400 answer."""


_FILTER = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[^\s"!=~{}]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL)


def parse_filters(raw: Sequence[str]) -> tuple[Matcher, ...]:
    """The ``filter`` parameters, one matcher each (``name="value"``, ``!=``, ``=~``, ``!~``)."""
    if len(raw) > MAX_FILTERS:
        msg = f"at most {MAX_FILTERS} filter matchers"
        raise BadParameter(msg)
    return tuple(parse_filter(text) for text in raw)


def parse_filter(text: str) -> Matcher:
    """One matcher as Alertmanager reads it: the name bare or double-quoted (any UTF-8), the
    value bare or double-quoted, where ``\\n``, ``\\"`` and ``\\\\`` are escapes and any other
    backslash stays as written (so ``=~"host\\d+"`` is the regex ``host\\d+``)."""
    match = _FILTER.match(_unbraced(text))
    if match is None:
        msg = f"bad matcher format: {text}"
        raise BadParameter(msg)
    raw_name, op, raw_value = match.groups()
    try:
        name = _unquote(raw_name) if raw_name.startswith('"') else raw_name
        value = _unquote(raw_value) if raw_value.startswith('"') else raw_value
        if not name:
            raise ValueError("empty label name")
        return Matcher(name=name, op=cast(Op, op), value=value)
    except ValueError as err:
        msg = f"bad matcher format: {text}: {err}"
        raise BadParameter(msg) from None


def _unquote(quoted: str) -> str:
    if len(quoted) < 2 or not quoted.endswith('"'):
        raise ValueError("missing closing quote")
    out: list[str] = []
    escaped = False
    for char in quoted[1:-1]:
        if escaped:
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            raise ValueError("unescaped quote in value")
        else:
            out.append(char)
    if escaped:
        raise ValueError("missing closing quote")
    return "".join(out)


def _unbraced(text: str) -> str:
    # Alertmanager accepts a single matcher written as a selector: {alertname="x"}.
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        return stripped[1:-1]
    return text


def parse_flag(query: Mapping[str, str], name: str, *, default: bool = True) -> bool:
    """A boolean parameter (``true``/``false`` and the forms Go's swagger accepts)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f"{name} in query must be of type boolean: {raw!r}"
    raise BadParameter(msg)


def parse_receiver(query: Mapping[str, str]) -> Regexp | None:
    """The ``receiver`` parameter: an anchored regex over receiver names."""
    raw = query.get("receiver")
    if raw is None or raw == "":
        return None
    try:
        return compile_anchored(raw)
    except ValueError as err:
        msg = f"failed to parse receiver param: {err}"
        raise BadParameter(msg) from None


def match_filter_labels(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Alertmanager's filter rule: a positive matcher needs the label present (unless its
    value is empty); a negative one holds for an absent label it does not exclude."""
    for matcher in matchers:
        present = matcher.name in labels
        value = labels.get(matcher.name, "")
        if matcher.op in ("!=", "!~"):
            if matcher.value == "" and present:
                continue
            if not matcher.matches({matcher.name: value}):
                return False
        else:
            if matcher.value == "" and not present:
                continue
            if not present or not matcher.matches({matcher.name: value}):
                return False
    return True


def silence_matches_filter(silence: Silence, matchers: Sequence[Matcher]) -> bool:
    """Alertmanager's silence filter: each filter matcher must be one of the silence's own
    (same name, operator and value); it is not applied to the values as labels."""
    own = {(m.name, m.op, m.value) for m in silence.matchers}
    return all((m.name, m.op, m.value) in own for m in matchers)


@dataclass(frozen=True)
class AlertFilter:
    """The parameters of ``GET /api/v2/alerts`` and ``/alerts/groups``."""

    matchers: tuple[Matcher, ...]
    active: bool
    silenced: bool
    inhibited: bool
    unprocessed: bool
    receiver: Regexp | None

    @classmethod
    def parse(cls, query: Mapping[str, str], filters: Sequence[str]) -> "AlertFilter":
        """From a request's query; ``BadParameter`` names the first bad one."""
        return cls(
            matchers=parse_filters(filters),
            active=parse_flag(query, "active"),
            silenced=parse_flag(query, "silenced"),
            inhibited=parse_flag(query, "inhibited"),
            unprocessed=parse_flag(query, "unprocessed"),
            receiver=parse_receiver(query),
        )

    def admits(self, labels: Mapping[str, str], receivers: Sequence[str], state: str) -> bool:
        """Whether an alert with these labels, receivers and state is listed."""
        if self.receiver is not None and not any(self.receiver.matches(r) for r in receivers):
            return False
        if not match_filter_labels(self.matchers, labels):
            return False
        if state == "suppressed":
            return self.silenced
        return self.active
