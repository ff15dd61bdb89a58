"""Go's ``regexp`` semantics on RE2 (each behaviour checked against promtool 2.42)."""

import time

import pytest

from aiwatch.golang.regexp import RegexpError, compile, compile_anchored


def _full(pattern: str, text: str) -> bool:
    return compile_anchored(pattern).matches(text)


def test_posix_classes_work() -> None:
    """``[[:alpha:]]+[[:digit:]]+`` matches letters then digits, as in Go."""
    assert _full("[[:alpha:]]+[[:digit:]]+", "abc123")
    assert not _full("[[:alpha:]]+[[:digit:]]+", "abc")
    assert _full("[[:upper:][:digit:]_]+", "AB_9")
    assert _full("[[:^digit:]]+", "ab")
    assert not _full("[[:^digit:]]+", "a1")


def test_dollar_is_end_of_text_not_before_a_final_newline() -> None:
    """Go's ``$`` does not match before a trailing newline (Python's does)."""
    assert compile("abc$").search("abc\n") is None
    assert compile("(?m)abc$").search("abc\n") is not None


def test_brace_without_repetition_is_literal() -> None:
    """``a{,3}`` is literal text in Go, a repetition in Python."""
    assert _full("a{,3}", "a{,3}")
    assert not _full("a{,3}", "aa")
    assert _full("a{2}", "aa")


def test_leading_flags_and_named_groups_work() -> None:
    """``(?i)`` at the start and ``(?P<name>…)`` mean the same in both."""
    assert _full("(?i)abc", "ABC")
    assert compile_anchored("(?P<x>a)b").search("ab") is not None
    assert _full("a\\z", "a")


def test_go_syntax_python_lacks_is_accepted() -> None:
    """``\\pL``, ``\\p{Greek}``, ``\\Q…\\E`` and ``(?U)`` mean what they mean in Go."""
    assert _full("\\pL+", "héllo")
    assert not _full("\\pL+", "h3llo")
    assert _full("\\p{Greek}+", "Ωμέγα")
    assert not _full("\\p{Greek}+", "omega")
    assert _full("\\QA.B\\E", "A.B")
    assert not _full("\\QA.B\\E", "AxB")
    ungreedy = compile_anchored("(?U)(a+)a*")
    match = ungreedy.search("aaa")
    assert match is not None
    assert ungreedy.expand("$1", match) == "a"


def test_dot_excludes_newline_unless_s_flag() -> None:
    """``.`` does not match ``\\n`` unless ``(?s)``, as in Go."""
    assert not _full("a.b", "a\nb")
    assert _full("(?s)a.b", "a\nb")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?<!a)b", "invalid or unsupported Perl syntax: `(?<`"),
        ("(a)\\1", "invalid escape sequence: `\\1`"),
        ("a*+", "invalid nested repetition operator: `*+`"),
        ("(?>a)", "invalid or unsupported Perl syntax: `(?>`"),
        ("\\Z", "invalid escape sequence: `\\Z`"),
        ("\\C", "invalid escape sequence: `\\C`"),
        ("(?<n>a)", "invalid or unsupported Perl syntax: `(?<`"),
        ("(?P<é>a)", "invalid named capture: `(?P<é>`"),
        ("(a", "missing closing ): `^(?:(a)$`"),
        ("a)|(b", "unexpected ): `a)|(b`"),
        ("[a", "missing closing ]: `[a)$`"),
        ("abc\\", "missing closing ): `^(?:abc\\)$`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("*", "missing argument to repetition operator: `*`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        ("(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"),
    ],
)
def test_constructs_go_refuses_are_refused_as_go_words_it(pattern: str, message: str) -> None:
    """The error is Go's ``error parsing regexp: …`` for Prometheus' anchored pattern."""
    with pytest.raises(RegexpError) as caught:
        compile_anchored(pattern)
    assert str(caught.value) == f"error parsing regexp: {message}"


def _expand(pattern: str, template: str, text: str) -> str:
    compiled = compile_anchored(pattern)
    match = compiled.search(text)
    assert match is not None
    return compiled.expand(template, match)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$1-$2", "ab-cd"),
        ("${1}x", "abx"),
        ("$1x", ""),  # the group named "1x", which does not exist
        ("$name!", "cd!"),
        ("${name}s", "cds"),
        ("$$1", "$1"),
        ("$", "$"),
        ("${1", "${1"),
        ("$-", "$-"),
        ("$01", ""),  # no leading zeros: the group named "01"
        ("$3", ""),  # no such group
    ],
)
def test_expand_is_gos(template: str, expected: str) -> None:
    """``label_replace`` replacements follow Go's ``Regexp.Expand`` (checked with promtool)."""
    assert _expand("(ab)(?P<name>cd)", template, "abcd") == expected


def test_replace_all_skips_an_empty_match_right_after_a_match() -> None:
    """Go's ``ReplaceAllString``: ``a*`` on ``baaac`` gives ``XbXcX`` (Python: ``XbXXcX``)."""
    assert compile("a*").replace_all("baaac", "X") == "XbXcX"
    assert compile("(?P<w>\\w+)").replace_all("ab cd", "<$w>") == "<ab> <cd>"


def test_invalid_utf8_is_handled_as_go_does() -> None:
    """A lone surrogate in text matches as U+FFFD; in a pattern it is invalid UTF-8."""
    assert _full(".", "\ud800")
    assert _full("\ufffd", "\ud800")
    with pytest.raises(RegexpError, match="invalid UTF-8"):
        compile_anchored("a\ud800")


def test_catastrophic_patterns_are_linear() -> None:
    """``(a+)+$`` and ``(.|.|.|.|.|.)*X`` on 50,000 characters answer in milliseconds."""
    text = "a" * 50_000 + "!"
    started = time.perf_counter()
    assert not _full("(a+)+$", text)
    assert compile("(a+)+$").search(text) is None
    assert not compile("(.|.|.|.|.|.)*X").matches(text)
    assert time.perf_counter() - started < 0.1
