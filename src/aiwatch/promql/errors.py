"""Where a PromQL parse error is, as promtool says it: ``1:35: parse error: …``.

The parser aiwatch uses says what is wrong but not where. The position is found the way a
reader would: an error about the end of the input is at the end; a detail quoted from the
query is where it occurs; an unnamed syntax error is at the token after the longest prefix
of the query that does not fail that way.
"""

import re
from collections.abc import Callable

Parse = Callable[[str], object]

_AT_END = ("unexpected end of input", "unclosed left")
_UNNAMED = "invalid promql query"
_TOKEN = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*|[0-9][0-9A-Za-z.]*|\"[^\"]*\"?|'[^']*'?|\S")
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def locate(text: str, message: str, parse: Parse) -> str:
    """``LINE:COL: parse error: MESSAGE`` for the parser's ``message`` about ``text``;
    ``parse`` raises ``ValueError`` as the parser does (it is tried on prefixes)."""
    if message.startswith(_AT_END):
        return f"{_line_col(text, len(text))}: parse error: {message}"
    if message != _UNNAMED:
        detail = re.search(r": (\S+)$", message)
        found = text.find(detail.group(1)) if detail else -1
        return f"{_line_col(text, max(found, 0))}: parse error: {message}"
    if _parses(text + " x", parse):
        # Only an operand is missing ("rate(x[5m]) >"): the input ended too early.
        return f"{_line_col(text, len(text))}: parse error: unexpected end of input"
    offset = _unnamed_error_offset(text, parse)
    return f"{_line_col(text, offset)}: parse error: {_unexpected(text, offset)}"


def _unnamed_error_offset(text: str, parse: Parse) -> int:
    """The token after the longest prefix (closed with the brackets it leaves open) that
    does not fail with the unnamed error: ``sum(rate(x[5m]) bar)`` fails at ``bar``."""
    tokens = list(_TOKEN.finditer(text))
    for k in range(len(tokens) - 1, 0, -1):
        prefix = text[: tokens[k - 1].end()]
        try:
            parse(prefix + _closers(prefix))
        except ValueError as err:
            if str(err) == _UNNAMED:
                continue
        return tokens[k].start()
    return tokens[0].start() if tokens else 0


def _parses(text: str, parse: Parse) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _closers(prefix: str) -> str:
    """The brackets that close what ``prefix`` left open."""
    stack: list[str] = []
    for match in _TOKEN.finditer(prefix):
        token = match.group(0)
        if token in _PAIRS:
            stack.append(_PAIRS[token])
        elif stack and token == stack[-1]:
            stack.pop()
    return "".join(reversed(stack))


def _line_col(text: str, offset: int) -> str:
    """``line:col`` (1-based) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{col}"


def _unexpected(text: str, offset: int) -> str:
    match = _TOKEN.match(text, offset)
    token = match.group(0) if match else text[offset : offset + 1]
    kind = "identifier " if re.match(r"[A-Za-z_:]", token) else ""
    return f'unexpected {kind}"{token}"'
