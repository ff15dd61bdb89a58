"""Prometheus' query formatter (``/api/v1/format_query``): the parser's prettifier.

The parser aiwatch uses ports Prometheus' ``Expr.Pretty``: an expression that fits in 100
characters on one line, a longer one broken and indented two spaces a level. It writes
numbers its own way (``0.0000001`` where Prometheus writes Go's ``1e-07``), and the length of
a line decides where it breaks, so each number literal is formatted as a placeholder of the
length Go's ``fmt.Sprint`` gives it, then replaced by that text.
"""

import re

import promql_parser

from aiwatch.golang.fmt import quote, shortest
from aiwatch.promql.syntax import masked_regexes, parse_any
from aiwatch.promql.values import PromQLError

_SOURCE_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`|#[^\n]*'
    # A number literal: not part of a name, not a duration (``5m``).
    r"|(?<![\w.])(?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|(?i:inf|nan))(?![\w.])"
)
_OUTPUT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.])(?P<number>-?1+)(?![\w.])')


def pretty(text: str) -> str:
    """``text`` formatted as Prometheus formats it; ``PromQLError`` if it does not parse."""
    parse_any(text)
    numbers: list[str] = []
    masked = _SOURCE_TOKEN.sub(lambda m: _mask_number(m, numbers), text)
    try:
        out = str(promql_parser.parse(masked).prettify())
    except ValueError:
        out = _pretty_masked_regexes(masked, text)
    found = iter(numbers)

    def unmask(match: re.Match[str]) -> str:
        token = match.group("number")
        if token is None or match.string[: match.start()].rstrip().endswith("@"):
            return match.group(0)
        number = next(found, token)
        if token.startswith("-"):
            return "NaN" if number == "NaN" else "-" + number.removeprefix("+")
        return number

    return _OUTPUT_TOKEN.sub(unmask, out)


def _mask_number(match: re.Match[str], numbers: list[str]) -> str:
    """A number literal replaced by ``1…1`` as long as Go writes it ("@" times are kept)."""
    token = match.group("number")
    if token is None or match.string[: match.start()].rstrip().endswith("@"):
        return match.group(0)
    value = float(int(token, 16)) if token[:2] in ("0x", "0X") else float(token)
    numbers.append(shortest(value))
    return "1" * len(numbers[-1])


def _pretty_masked_regexes(masked: str, text: str) -> str:
    """The expression with regexes the parser's own engine refuses (Go syntax such as
    ``\\Q…\\E``): formatted with placeholders in their place, then put back quoted as
    Prometheus prints a matcher. The placeholders' length can move a line break."""
    masked, regexes = masked_regexes(masked)
    try:
        out = str(promql_parser.parse(masked).prettify())
    except ValueError as err:
        raise PromQLError(f"cannot parse {text!r}: {err}") from None
    for placeholder, value in regexes.items():
        out = out.replace(f'"{placeholder}"', quote(value), 1)
    return out
