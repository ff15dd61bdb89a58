"""Parsing: PromQL text to a validated expression tree the evaluator supports in full.

The grammar is ``promql_parser``'s; this module turns its tree into small frozen dataclasses
and rejects, at parse time, every construct the evaluator does not implement (or that
Prometheus 2.42 does not have), so that an unsupported query is an error, never a wrong
answer.
"""

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import promql_parser

from aiwatch.golang.regexp import compile_anchored
from aiwatch.promql.aggregations import AGGREGATIONS
from aiwatch.promql.binary import ARITHMETIC, COMPARISON, SET_OPERATORS, Matching
from aiwatch.promql.errors import locate
from aiwatch.promql.functions import DATE_FUNCTIONS, ELEMENTWISE
from aiwatch.promql.range_functions import SIMPLE
from aiwatch.promql.storage import LabelMatcher, MatchOp
from aiwatch.promql.values import PromQLError

ValueType = Literal["vector", "scalar", "matrix", "string"]

RANGE_FUNCTIONS = frozenset(
    {
        *SIMPLE, "rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear",
        "quantile_over_time", "absent_over_time", "holt_winters",
    }
)  # fmt: skip
OTHER_FUNCTIONS = frozenset(
    {
        "absent", "clamp", "clamp_min", "clamp_max", "round", "time", "vector", "scalar",
        "timestamp", "label_replace", "label_join", "histogram_quantile", "sort", "sort_desc",
        "pi", "deg", "rad", "histogram_count", "histogram_sum", "histogram_fraction",
    }
)  # fmt: skip
FUNCTIONS = RANGE_FUNCTIONS | OTHER_FUNCTIONS | set(ELEMENTWISE) | DATE_FUNCTIONS


def _register_holt_winters() -> None:
    """Teach the parser Prometheus 2's ``holt_winters`` (Prometheus 3 renamed it)."""
    matrix, scalar = promql_parser.ValueType.Matrix, promql_parser.ValueType.Scalar
    function = promql_parser.Function(
        "holt_winters", [matrix, scalar, scalar], promql_parser.ValueType.Vector
    )
    with contextlib.suppress(ValueError):  # a parser version that knows it already
        promql_parser.register_extra_functions([function])


_register_holt_winters()


@dataclass(frozen=True)
class At:
    """An ``@`` modifier: a fixed time, or the query's ``start()``/``end()``."""

    kind: Literal["at", "start", "end"]
    t_ms: int


@dataclass(frozen=True)
class NumberLiteral:
    """A number."""

    value: float
    type: ValueType = "scalar"


@dataclass(frozen=True)
class StringLiteral:
    """A string."""

    value: str
    type: ValueType = "string"


@dataclass(frozen=True)
class VectorSelector:
    """``name{matchers} offset d @ t``."""

    matchers: tuple[LabelMatcher, ...]
    offset_ms: int
    at: At | None
    type: ValueType = "vector"


@dataclass(frozen=True)
class MatrixSelector:
    """``selector[range]``."""

    selector: VectorSelector
    range_ms: int
    type: ValueType = "matrix"


@dataclass(frozen=True)
class Subquery:
    """``expr[range:step] offset d @ t``."""

    expr: "Expr"
    range_ms: int
    step_ms: int | None
    offset_ms: int
    at: At | None
    type: ValueType = "matrix"


@dataclass(frozen=True)
class Call:
    """A function call."""

    func: str
    args: tuple["Expr", ...]
    type: ValueType


@dataclass(frozen=True)
class Aggregate:
    """An aggregation with its optional parameter and ``by``/``without`` labels."""

    op: str
    expr: "Expr"
    param: "Expr | None"
    grouping: tuple[str, ...]
    without: bool
    type: ValueType = "vector"


@dataclass(frozen=True)
class Binary:
    """A binary operation; ``matching`` is set when both sides are vectors."""

    op: str
    lhs: "Expr"
    rhs: "Expr"
    matching: Matching | None
    return_bool: bool
    type: ValueType


@dataclass(frozen=True)
class Negation:
    """Unary minus."""

    expr: "Expr"
    type: ValueType


@dataclass(frozen=True)
class Paren:
    """Parentheses, kept because ``timestamp((x))`` and ``absent((x))`` look through them."""

    expr: "Expr"
    type: ValueType


Expr = (
    NumberLiteral
    | StringLiteral
    | VectorSelector
    | MatrixSelector
    | Subquery
    | Call
    | Aggregate
    | Binary
    | Negation
    | Paren
)

_MATCH_OPS: dict[str, MatchOp] = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|#[^\n]*')
_QUOTED_NAME = re.compile(r'[{,]\s*"[^"]*"\s*(?=[=!,}])')
_DURATION = re.compile(r"(?<![\w.])(?:\d+(?:ms|[smhdwy]))+(?![\w.])")
_OFFSET_BEFORE = re.compile(r"offset\s*-?\s*$", re.IGNORECASE)
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`|#[^\n]*')
_PLACEHOLDER = "aiwatch_regex_{}"


def _blank(match: re.Match[str]) -> str:
    """A string literal with its contents blanked, or a comment removed entirely."""
    token = match.group(0)
    if token.startswith("#"):
        return " " * len(token)
    return token[0] + " " * (len(token) - 2) + token[-1]


def _reject_newer_syntax(text: str) -> None:
    """Reject what the parser accepts but Prometheus 2.42 does not.

    The parser follows a newer Prometheus: quoted metric and label names, durations used
    as numbers (``vector(1m)``), and negative ``@`` times (which it silently clamps).
    """
    blanked = _STRING_OR_COMMENT.sub(_blank, text)
    selectors = re.findall(r"\{[^{}]*\}", blanked)
    if any(_QUOTED_NAME.search(sel) for sel in selectors):
        msg = f"in {text!r}: quoted metric or label names need Prometheus 3 and are not supported"
        raise PromQLError(msg)
    if re.search(r"@\s*-", blanked):
        msg = f"in {text!r}: negative '@' timestamps are not supported"
        raise PromQLError(msg)
    depth = 0
    for index, char in enumerate(blanked):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif depth == 0 and char.isdigit():
            found = _DURATION.match(blanked, index)
            before = blanked[:index]
            starts_token = index == 0 or not (before[-1].isalnum() or before[-1] in "_.")
            if found and starts_token and not _OFFSET_BEFORE.search(before):
                msg = (
                    f"in {text!r}: duration {found.group(0)!r} used as a number is not "
                    "supported (Prometheus 2 allows durations only in ranges and offsets)"
                )
                raise PromQLError(msg)


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """Parse and validate ``text``; ``PromQLError`` says what is wrong or unsupported.

    Trees are immutable, so the last few thousand are kept: a rule's expression is parsed
    once when its file is checked at load, not again at its first evaluation.
    """
    expr = parse_any(text)
    if expr.type == "matrix":
        msg = (
            f"in {text!r}: the expression is a range vector; rules and instant queries need "
            "an instant vector or a scalar (wrap it in a function such as rate())"
        )
        raise PromQLError(msg)
    return expr


def parse_any(text: str) -> Expr:
    """``parse``, range vectors (``x[5m]``) accepted: what the query API may answer."""
    try:
        raw = promql_parser.parse(_masked(text)[0])
    except ValueError as err:
        msg = f"cannot parse {text!r}: {locate(text, str(err), promql_parser.parse)}"
        raise PromQLError(msg) from None
    _reject_newer_syntax(text)
    return _convert(raw, text)


def masked_regexes(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each regex matcher's string replaced by a quoted placeholder, and the
    regexes by placeholder (for printers that must not read them with the parser's engine)."""
    return _masked(text)


@functools.lru_cache(maxsize=256)
def _masked(text: str) -> tuple[str, dict[str, str]]:
    """``text`` with each regex matcher's string replaced by a placeholder, and the values.

    The parser checks those strings with its own regex engine, whose syntax is not Go's (it
    refuses ``\\QA.B\\E``); they are checked with Go's syntax when the selector is built.
    """
    out: list[str] = []
    values: dict[str, str] = {}
    end = 0
    for token in _TOKEN.finditer(text):
        before = text[end : token.start()]
        out.append(before)
        end = token.end()
        literal = token.group(0)
        if literal.startswith("#") or not before.rstrip().endswith(("=~", "!~")):
            out.append(literal)
            continue
        # A raw string is taken as written (the parser would read escapes in it).
        raw = literal.startswith("`")
        parsed: Any = None if raw else promql_parser.parse(literal)
        value = literal[1:-1] if raw else str(parsed.val)
        placeholder = _PLACEHOLDER.format(len(values))
        values[placeholder] = value
        out.append(f'"{placeholder}"')
    out.append(text[end:])
    return "".join(out), values


def _unsupported(what: str, node: Any, text: str) -> PromQLError:
    return PromQLError(f"in {text!r}: {what} is not supported (at {node})")


def _ms(delta: timedelta | None) -> int:
    if delta is None:
        return 0
    return int(delta / timedelta(milliseconds=1))


def _convert(node: Any, text: str) -> Expr:
    converters: dict[type, Callable[[Any], Expr]] = {
        promql_parser.NumberLiteral: lambda n: NumberLiteral(float(n.val)),
        promql_parser.StringLiteral: lambda n: StringLiteral(str(n.val)),
        promql_parser.VectorSelector: lambda n: _selector(n, text),
        promql_parser.MatrixSelector: lambda n: MatrixSelector(
            _selector(n.vector_selector, text), _ms(n.range)
        ),
        promql_parser.SubqueryExpr: lambda n: _subquery(n, text),
        promql_parser.Call: lambda n: _call(n, text),
        promql_parser.AggregateExpr: lambda n: _aggregate(n, text),
        promql_parser.BinaryExpr: lambda n: _binary(n, text),
        promql_parser.UnaryExpr: lambda n: _negation(n, text),
        promql_parser.ParenExpr: lambda n: _paren(n, text),
    }
    convert: Callable[[Any], Expr] | None = converters.get(type(node))
    if convert is None:
        raise _unsupported(f"expression type {type(node).__name__}", node, text)
    return convert(node)


def _at(at: Any, text: str) -> At | None:
    if at is None:
        return None
    kind = str(at.type).rsplit(".", 1)[-1]
    if kind == "Start":
        return At("start", 0)
    if kind == "End":
        return At("end", 0)
    try:
        return At("at", round(at.at.timestamp() * 1000))
    except (ValueError, OverflowError, OSError):
        msg = f"in {text!r}: timestamp out of bounds for @ modifier"
        raise PromQLError(msg) from None


def _selector(node: Any, text: str) -> VectorSelector:
    matchers_obj = node.matchers
    if matchers_obj.or_matchers:
        raise _unsupported("the 'or' inside a selector", node, text)
    matchers: list[LabelMatcher] = []
    if node.name is not None:
        matchers.append(LabelMatcher("__name__", "=", str(node.name)))
    regexes = _masked(text)[1]
    for m in matchers_obj.matchers:
        op = _MATCH_OPS[str(m.op).rsplit(".", 1)[-1]]
        value = str(m.value)
        if op in ("=~", "!~"):
            value = regexes.get(value, value)
        try:
            matchers.append(LabelMatcher(str(m.name), op, value))
        except ValueError as err:
            # A parse error in Prometheus: its parser compiles selector regexes.
            raise PromQLError(f"cannot parse {text!r}: {err}") from None
    return VectorSelector(tuple(matchers), _ms(node.offset), _at(node.at, text))


def _subquery(node: Any, text: str) -> Subquery:
    inner = _convert(node.expr, text)
    step = _ms(node.step) if node.step is not None else None
    if step == 0:
        step = None
    return Subquery(inner, _ms(node.range), step, _ms(node.offset), _at(node.at, text))


def _call(node: Any, text: str) -> Call:
    name = str(node.func.name)
    if name not in FUNCTIONS:
        raise _unsupported(f"function {name}()", node, text)
    args = tuple(_convert(a, text) for a in node.args)
    if name == "label_replace":
        regex = unwrap(args[4])
        if isinstance(regex, StringLiteral):
            try:
                compile_anchored(regex.value)
            except ValueError as err:
                msg = f"in {text!r}: label_replace(): invalid regular expression: {err}"
                raise PromQLError(msg) from None
    return_type = str(node.func.return_type).rsplit(".", 1)[-1].lower()
    return Call(name, args, return_type)  # type: ignore[arg-type]


def _aggregate(node: Any, text: str) -> Aggregate:
    op = str(node.op)
    if op not in AGGREGATIONS:
        raise _unsupported(f"aggregation {op}", node, text)
    param = _convert(node.param, text) if node.param is not None else None
    grouping: tuple[str, ...] = ()
    without = False
    if node.modifier is not None:
        grouping = tuple(str(label) for label in node.modifier.labels)
        without = str(node.modifier.type).endswith("Without")
    return Aggregate(op, _convert(node.expr, text), param, grouping, without)


_CARD = {
    "OneToOne": "one-to-one",
    "ManyToOne": "many-to-one",
    "OneToMany": "one-to-many",
    "ManyToMany": "many-to-many",
}


def _binary(node: Any, text: str) -> Binary:
    op = str(node.op)
    if op not in ARITHMETIC and op not in COMPARISON and op not in SET_OPERATORS:
        raise _unsupported(f"operator {op}", node, text)
    lhs, rhs = _convert(node.lhs, text), _convert(node.rhs, text)
    mod = node.modifier
    return_bool = bool(mod.return_bool) if mod is not None else False
    if mod is not None and mod.fill_values is not None:
        fill = mod.fill_values
        if fill.lhs is not None or fill.rhs is not None:
            raise _unsupported("fill() in vector matching", node, text)
    both_scalar = lhs.type == "scalar" and rhs.type == "scalar"
    matching = None
    if lhs.type == "vector" and rhs.type == "vector":
        matching = _matching(op, mod)
    return Binary(op, lhs, rhs, matching, return_bool, "scalar" if both_scalar else "vector")


def _matching(op: str, mod: Any) -> Matching:
    card = "many-to-many" if op in SET_OPERATORS else "one-to-one"
    on = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    if mod is not None:
        card = _CARD[str(mod.card).rsplit(".", 1)[-1]]
        if mod.matching is not None:
            on = str(mod.matching.type).endswith("Include")
            labels = tuple(str(label) for label in mod.matching.labels)
        include = tuple(str(label) for label in (mod.group_labels or ()))
    return Matching(card=card, on=on, labels=labels, include=include)


def _negation(node: Any, text: str) -> Negation:
    inner = _convert(node.expr, text)
    return Negation(inner, inner.type)


def _paren(node: Any, text: str) -> Paren:
    inner = _convert(node.expr, text)
    return Paren(inner, inner.type)


def unwrap(expr: Expr) -> Expr:
    """``expr`` without enclosing parentheses."""
    while isinstance(expr, Paren):
        expr = expr.expr
    return expr
