"""Parsing: what is accepted, and what is rejected up front with a clear message."""

import pytest

from aiwatch.promql import PromQLError, parse
from aiwatch.promql.syntax import Aggregate, Binary, Call, MatrixSelector, VectorSelector


def test_selector_name_becomes_a_name_matcher() -> None:
    """``x{a="b"}`` selects on ``__name__="x"`` and ``a="b"``."""
    expr = parse('x{a="b"} offset 1m')
    assert isinstance(expr, VectorSelector)
    assert [(m.name, m.op, m.value) for m in expr.matchers] == [
        ("__name__", "=", "x"),
        ("a", "=", "b"),
    ]
    assert expr.offset_ms == 60_000


def test_typical_alert_expressions_parse() -> None:
    """Expressions from real alerting rules parse into the expected node types."""
    rate = parse('sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.1')
    assert isinstance(rate, Binary)
    assert isinstance(rate.lhs, Aggregate)
    hq = parse("histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))")
    assert isinstance(hq, Call)
    assert hq.type == "vector"
    inner = parse("rate(x[5m])")
    assert isinstance(inner, Call)
    assert isinstance(inner.args[0], MatrixSelector)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("double_exponential_smoothing(x[5m], 0.5, 0.5)", "function double_exponential"),
        ("limitk(2, x)", "aggregation limitk"),
        ('x{a="1" or b="2"}', "'or' inside a selector"),
        ("x @ -5", "negative '@'"),
        ("x[5m]", "range vector"),
        ("rate(x[5m]", "cannot parse"),
        ("1 > 2", "cannot parse"),
        ('x{a=~"("}', "cannot parse"),
        ("mad_over_time(x[5m])", "function mad_over_time()"),
        ("vector(1m)", "duration '1m' used as a number"),
        ('{"x"}', "quoted metric or label names"),
        ('x{"a"="1"}', "quoted metric or label names"),
        ("x @ 1e20", "out of bounds"),
    ],
)
def test_unsupported_or_invalid_queries_fail_at_parse_time(expr: str, message: str) -> None:
    """Unsupported constructs are errors at parse time that quote the query."""
    with pytest.raises(PromQLError, match=message) as info:
        parse(expr)
    assert repr(expr) in str(info.value)


def test_parse_errors_are_value_errors() -> None:
    """``PromQLError`` is a ``ValueError`` so generic config validation can catch it."""
    assert issubclass(PromQLError, ValueError)


def test_strings_comments_and_ranges_do_not_trigger_newer_syntax_checks() -> None:
    """Durations in ranges/offsets and look-alikes inside strings or comments are fine."""
    for expr in (
        'label_replace(x, "a", "{\\"b", "a", "1m")',
        'x{a="5m"} offset 1m30s # vector(1m)',
        "rate(x[5m:30s] offset -1m)",
        "m1m + 1e3",
    ):
        parse(expr)
