"""Alertmanager-style matchers compile their regexes with Go's syntax."""

import pytest

from aiwatch.matchers import parse_matcher, restore_matcher


def test_matcher_regex_is_gos_and_anchored() -> None:
    """``=~`` takes Go syntax and must match the whole value; ``!~`` is its negation."""
    letters = parse_matcher('team=~"\\\\pL+"')
    assert letters.matches({"team": "équipe"})
    assert not letters.matches({"team": "team-1"})
    assert parse_matcher('team!~"a.c"').matches({"team": "abcd"})


def test_matcher_with_python_only_syntax_is_refused_with_gos_message() -> None:
    """A look-ahead is refused when the matcher is parsed, with Go's message."""
    with pytest.raises(ValueError, match=r"invalid regular expression: error parsing regexp: "):
        parse_matcher('team=~"(?=a)a"')


def test_stored_matcher_go_refuses_holds_for_nothing() -> None:
    """A silence stored by an older version with a look-ahead loads, shows its text and
    silences nothing, for ``=~`` and ``!~`` alike."""
    for text in ('team=~"(?=a)a"', 'team!~"(?=a)a"'):
        matcher = restore_matcher(text)
        assert str(matcher) == text
        assert not matcher.matches({"team": "a"})
        assert not matcher.matches({"team": "b"})
    assert restore_matcher('team=~"a+"').matches({"team": "aa"})
