"""Go (RE2) regular expressions on Python's ``re``: translate what differs, reject the rest.

Prometheus matches labels with Go's ``regexp``. Most patterns mean the same in Python, but a
few do not, and would silently match something else: POSIX classes such as ``[[:digit:]]``,
``$`` (end of text in Go, also before a final newline in Python), ``\\z``, ``{,n}``. Those
are translated. Constructs Go rejects but Python accepts (look-arounds, backreferences,
possessive quantifiers) and Go-only syntax Python lacks (``\\pL``, ``\\Q…\\E``, ``(?U)``) are
refused with a ``ValueError`` that says why.
"""

import re

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_FLAGS = re.compile(r"\(\?([a-zA-Z-]*)[:)]")
_REPEAT = re.compile(r"\{\d+(,\d*)?\}")


def compile_re2(pattern: str) -> re.Pattern[str]:
    """A Python pattern that matches what Go's ``regexp`` matches for ``pattern``."""
    translated = translate(pattern)
    try:
        return re.compile(translated)
    except re.error as err:
        msg = f"invalid regular expression {pattern!r}: {err}"
        raise ValueError(msg) from None


def translate(pattern: str) -> str:
    """``pattern`` in Python's syntax; ``ValueError`` for what cannot be carried over."""
    multiline = any("m" in flags for flags in _FLAGS.findall(pattern))
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            piece, i = _escape(pattern, i)
        elif char == "[":
            piece, i = _char_class(pattern, i)
        elif char == "(" and pattern.startswith("(?", i):
            piece, i = _group_open(pattern, i)
        elif char in "*+?}" and _possessive(pattern, i):
            msg = f"invalid regular expression {pattern!r}: possessive repetition is not RE2"
            raise ValueError(msg)
        elif char == "{" and not _REPEAT.match(pattern, i):
            piece, i = "\\{", i + 1  # Go reads a brace that starts no repetition literally
        elif char == "$" and not multiline:
            piece, i = "\\Z", i + 1
        else:
            piece, i = char, i + 1
        out.append(piece)
    return "".join(out)


def _possessive(pattern: str, i: int) -> bool:
    return i + 1 < len(pattern) and pattern[i + 1] == "+" and (i == 0 or pattern[i - 1] != "\\")


def _escape(pattern: str, i: int) -> tuple[str, int]:
    if i + 1 >= len(pattern):
        msg = f"invalid regular expression {pattern!r}: trailing backslash"
        raise ValueError(msg)
    nxt = pattern[i + 1]
    if nxt in "123456789":
        msg = f"invalid regular expression {pattern!r}: backreferences are not supported"
        raise ValueError(msg)
    if nxt in "pPQEC" or nxt == "Z":
        msg = f"regular expression {pattern!r}: '\\{nxt}' is not supported by aiwatch"
        raise ValueError(msg)
    if nxt == "z":
        return "\\Z", i + 2
    return pattern[i : i + 2], i + 2


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """Copy a bracket expression, expanding POSIX classes and escaping nested ``[``."""
    out = ["["]
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        out.append("^")
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        out.append("\\]")
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        if pattern[j] == "\\":
            piece, j = _escape(pattern, j)
            out.append(piece)
        elif pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            name = pattern[j + 2 : end] if end != -1 else ""
            if name not in _POSIX:
                msg = f"regular expression {pattern!r}: class [:{name}:] is not supported"
                raise ValueError(msg)
            out.append(_POSIX[name])
            j = end + 2
        else:
            out.append("\\[" if pattern[j] == "[" else pattern[j])
            j += 1
    if j >= len(pattern):
        msg = f"invalid regular expression {pattern!r}: missing closing ]"
        raise ValueError(msg)
    out.append("]")
    return "".join(out), j + 1


def _group_open(pattern: str, i: int) -> tuple[str, int]:
    """``(?P<name>``, ``(?:`` and flag groups pass; Python-only group kinds are refused."""
    if pattern.startswith("(?P<", i):
        return "(?P<", i + 4
    match = _FLAGS.match(pattern, i)
    if match is not None and set(match.group(1)) <= set("ims-"):
        return match.group(0), match.end()
    msg = (
        f"regular expression {pattern!r}: group '{pattern[i : i + 4]}…' is not supported "
        "(Go's regexp has no look-arounds, atomic groups or conditionals)"
    )
    raise ValueError(msg)
