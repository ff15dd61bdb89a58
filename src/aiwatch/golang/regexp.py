"""Go's ``regexp`` on RE2: one regex syntax and one matching engine for every user pattern.

Prometheus and Alertmanager compile label regexes with Go's ``regexp``, which is RE2: the
syntax has no backreferences or look-arounds, and matching takes time linear in the text, so
no pattern can make a request run for minutes. This module gives the same through the
``google-re2`` bindings, configured as Go's ``regexp.Compile`` (Perl-like syntax, leftmost-first
rather than POSIX leftmost-longest, ``^``/``$`` at text ends unless ``(?m)``, ``.`` without
newline unless ``(?s)``), plus the three places where the C++ library accepts what Go
rejects (``\\C``, ``(?<name>…)``, non-ASCII group names). Errors are worded as Go words them.

- ``compile`` is ``regexp.Compile``: unanchored, for templates' ``match`` and ``reReplaceAll``.
- ``compile_anchored`` is Prometheus' ``^(?:pattern)$``, for selectors, ``label_replace`` and
  Alertmanager-style matchers.
"""

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Protocol

import re2

_MAX_MEM = 8 << 20
"""RE2's default program budget: a pattern needing more is refused as too large (Go accepts
some of those, e.g. ``\\pL{1000}``, but compiling one takes a second and hundreds of MB)."""

_CODES = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "pattern too large - compile failed": "expression too large",
}
_SURROGATE = re.compile("[\ud800-\udfff]")


class RegexpError(ValueError):
    """A pattern Go's ``regexp`` would refuse; the message is Go's ``error parsing regexp: …``."""


class Match(Protocol):
    """One match: spans and groups by index (0 is the whole match) or by name."""

    def start(self, group: int = 0) -> int:
        """Where ``group`` starts (-1 when it did not take part)."""

    def end(self, group: int = 0) -> int:
        """Where ``group`` ends (-1 when it did not take part)."""

    def group(self, group: int | str = 0) -> str | None:
        """The text of ``group``; ``None`` when it did not take part."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error is raised, not printed on stderr
    options.max_mem = _MAX_MEM
    # posix_syntax, longest_match, never_nl and dot_nl stay off: Go's syntax.Perl flags.
    return options


_OPTIONS = _options()
_UNANCHORED = re2._Anchor.UNANCHORED


class Regexp:
    """A compiled pattern; ``pattern`` is the user's text (before any anchoring)."""

    __slots__ = ("_compiled", "_names", "_raw", "pattern")

    def __init__(self, pattern: str, compiled: re2._Regexp) -> None:
        self.pattern = pattern
        self._compiled = compiled
        # The binding's C++ object: one call, no generator, for the yes/no a selector asks.
        self._raw = compiled._regexp
        names = [""] * (compiled.groups + 1)
        for name, index in compiled.groupindex.items():
            names[index] = name
        self._names = tuple(names)

    def __repr__(self) -> str:
        return f"Regexp({self.pattern!r})"

    def search(self, text: str) -> Match | None:
        """The leftmost match in ``text`` (the whole text for an anchored pattern)."""
        found: Match | None = self._compiled.search(_valid_utf8(text))
        return found

    def matches(self, text: str) -> bool:
        """Go's ``MatchString``."""
        encoded = _valid_utf8(text).encode()
        return bool(self._raw.Match(_UNANCHORED, encoded, 0, len(encoded))[0][0] >= 0)

    def finditer(self, text: str) -> Iterator[Match]:
        """Successive matches, each search starting where Go's ``ReplaceAll`` would."""
        found: Iterator[Match] = self._compiled.finditer(_valid_utf8(text))
        return found

    def expand(self, template: str, match: Match) -> str:
        """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``.

        A reference takes the longest run of letters, digits and ``_`` (so ``$1x`` is the
        group named ``1x``, usually empty); an unknown group is empty; a ``$`` that starts no
        reference is kept.
        """
        out: list[str] = []
        rest = template
        while (dollar := rest.find("$")) >= 0:
            out.append(rest[:dollar])
            rest = rest[dollar + 1 :]
            if rest.startswith("$"):
                out.append("$")
                rest = rest[1:]
                continue
            ref = _reference(rest)
            if ref is None:
                out.append("$")
                continue
            name, rest = ref
            out.append(self._group_text(name, match))
        out.append(rest)
        return "".join(out)

    def _group_text(self, name: str, match: Match) -> str:
        number = _group_number(name)
        if number is None:
            indexes = [i for i, n in enumerate(self._names) if n == name]
        else:
            indexes = [number] if number < len(self._names) else []
        for index in indexes:
            text = match.group(index)
            if text is not None:
                return text
        return ""

    def replace_all(self, text: str, template: str) -> str:
        """Go's ``ReplaceAllString``: ``template`` expanded for every non-overlapping match.

        As in Go, an empty match right after the previous match is not replaced (Python's
        ``re.sub`` replaces it).
        """
        text = _valid_utf8(text)
        out: list[str] = []
        last_end = 0
        for match in self.finditer(text):
            start, end = match.start(), match.end()
            out.append(text[last_end:start])
            if end > last_end or start == 0:
                out.append(self.expand(template, match))
            last_end = end
        out.append(text[last_end:])
        return "".join(out)


def _reference(text: str) -> tuple[str, str] | None:
    """Go's ``extract``: the name after a ``$`` and the text after it, or ``None``."""
    brace = text.startswith("{")
    body = text[1:] if brace else text
    length = 0
    for char in body:
        if not (char == "_" or char.isalpha() or unicodedata.category(char) == "Nd"):
            break
        length += 1
    if length == 0:
        return None
    if brace:
        if body[length : length + 1] != "}":
            return None
        return body[:length], body[length + 1 :]
    return body[:length], body[length:]


def _group_number(name: str) -> int | None:
    """A group number as Go reads one (ASCII digits, no leading zero, under 10^9)."""
    if not name.isascii() or not name.isdigit() or (name[0] == "0" and len(name) > 1):
        return None
    number = int(name)
    return number if number < 10**9 else None


def _valid_utf8(text: str) -> str:
    """``text`` with lone surrogates as U+FFFD, as Go's decoders hand invalid input over."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


@functools.lru_cache(maxsize=512)
def compile(pattern: str) -> Regexp:
    """Go's ``regexp.Compile``; ``RegexpError`` for a pattern Go refuses."""
    return Regexp(pattern, _compile(pattern))


@functools.lru_cache(maxsize=512)
def compile_anchored(pattern: str) -> Regexp:
    """Prometheus' label regex: ``^(?:pattern)$``, so it must match the whole value.

    Errors come from the anchored form first, as Prometheus reports them
    (``missing closing ): `^(?:(a)$```), then from the pattern alone, which must be valid
    by itself (``a)|(b`` is refused although its anchored form would compile).
    """
    anchored = _compile(f"^(?:{pattern})$")
    _compile(pattern)
    return Regexp(pattern, anchored)


def _compile(pattern: str) -> re2._Regexp:
    bad = _SURROGATE.search(pattern)
    if bad is not None:
        # The message shows U+FFFD: a lone surrogate cannot be written out as UTF-8.
        raise _error("invalid UTF-8", _valid_utf8(pattern[bad.start() :]))
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        detail = err.args[0]
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        code, _, arg = text.partition(": ")
        if not arg and code != "trailing \\":
            arg = pattern  # RE2 names no fragment for a pattern too large; Go names it all
        if arg in ("(?<=", "(?<!"):
            arg = "(?<"  # Go stops at the first character that is not a flag
        raise _error(_CODES.get(code, code), arg) from None
    go_only = _go_rejects(pattern)
    if go_only is not None:
        raise _error(*go_only)
    return compiled


def _error(code: str, arg: str) -> RegexpError:
    return RegexpError(f"error parsing regexp: {code}: `{arg}`")


def _go_rejects(pattern: str) -> tuple[str, str] | None:
    """What RE2 accepts but Go's ``regexp/syntax`` refuses: ``\\C``, ``(?<``, odd group names."""
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("\\Q", i):
            end = pattern.find("\\E", i + 2)
            i = n if end < 0 else end + 2
        elif pattern.startswith("\\C", i):
            return "invalid escape sequence", "\\C"
        elif pattern[i] == "\\":
            i += 2
        elif pattern[i] == "[":
            i = _class_end(pattern, i)
        elif pattern.startswith("(?<", i):
            return "invalid or unsupported Perl syntax", "(?<"
        elif pattern.startswith("(?P<", i):
            end = pattern.find(">", i)
            name = pattern[i + 4 : end]
            if not name.isascii() or not name.replace("_", "a").isalnum():
                return "invalid named capture", pattern[i : end + 1]
            i = end + 1
        else:
            i += 1
    return None


def _class_end(pattern: str, i: int) -> int:
    """The index after the bracket expression starting at ``i`` (RE2 has checked it)."""
    j = i + 1
    if pattern.startswith("^", j):
        j += 1
    if pattern.startswith("]", j):
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        if pattern[j] == "\\":
            j += 2
        elif pattern.startswith("[:", j) and (close := pattern.find(":]", j + 2)) >= 0:
            j = close + 2
        else:
            j += 1
    return j + 1
