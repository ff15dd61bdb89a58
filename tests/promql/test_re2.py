"""Go regular-expression semantics on Python's ``re`` (checked against promtool 2.42)."""

import pytest

from aiwatch.promql.re2 import compile_re2


def _full(pattern: str, text: str) -> bool:
    return compile_re2(pattern).fullmatch(text) is not None


def test_posix_classes_are_expanded() -> None:
    """``[[:alpha:]]+[[:digit:]]+`` matches letters then digits, as in Go."""
    assert _full("[[:alpha:]]+[[:digit:]]+", "abc123")
    assert not _full("[[:alpha:]]+[[:digit:]]+", "abc")
    assert _full("[[:upper:][:digit:]_]+", "AB_9")


def test_dollar_is_end_of_text_not_before_a_final_newline() -> None:
    """Go's ``$`` does not match before a trailing newline (Python's does)."""
    assert compile_re2("abc$").search("abc\n") is None
    assert compile_re2("(?m)abc$").search("abc\n") is not None


def test_brace_without_repetition_is_literal() -> None:
    """``a{,3}`` is literal text in Go, a repetition in Python."""
    assert _full("a{,3}", "a{,3}")
    assert not _full("a{,3}", "aa")
    assert _full("a{2}", "aa")


def test_leading_flags_and_named_groups_work() -> None:
    """``(?i)`` at the start and ``(?P<name>…)`` mean the same in both."""
    assert _full("(?i)abc", "ABC")
    assert compile_re2("(?P<x>a)b").fullmatch("ab") is not None
    assert _full("a\\z", "a")


@pytest.mark.parametrize(
    "pattern",
    ["(?=a)", "(?<!a)b", "(a)\\1", "a*+", "\\pL", "(?U)a+", "[[:^digit:]]", "(?>a)", "\\Z"],
)
def test_constructs_go_lacks_or_python_cannot_mirror_are_refused(pattern: str) -> None:
    """Refused with a ValueError rather than matched differently from Prometheus."""
    with pytest.raises(ValueError, match="regular expression"):
        compile_re2(pattern)
