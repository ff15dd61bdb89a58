"""Alertmanager's matcher syntax in ``filter``, and its filter rule for alerts and silences."""

import pytest

from aiwatch.alertmanager_api.filters import BadParameter, match_filter_labels, parse_filter
from aiwatch.incidents.silences import Silence
from aiwatch.matchers import parse_matcher


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('alertname="Down"', "alertname", "=", "Down"),
        ("alertname=Down", "alertname", "=", "Down"),
        (' severity != "info" ', "severity", "!=", "info"),
        ('instance=~"host\\d+"', "instance", "=~", "host\\d+"),
        ('instance!~"a|b"', "instance", "!~", "a|b"),
        ('summary="say \\"hi\\"\\n"', "summary", "=", 'say "hi"\n'),
        ('"service name"="café ☕"', "service name", "=", "café ☕"),
        ('{alertname="Down"}', "alertname", "=", "Down"),
        ('target=""', "target", "=", ""),
    ],
)
def test_alertmanager_matcher_syntax(text: str, name: str, op: str, value: str) -> None:
    """Bare or quoted values (Alertmanager's escapes; other backslashes kept for regexes),
    quoted UTF-8 names, a matcher in braces."""
    matcher = parse_filter(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)


@pytest.mark.parametrize("text", ["", "alertname", '="x"', 'a="x', 'a="x"y"', 'a=~"("', '""="x"'])
def test_bad_matchers_say_bad_matcher_format(text: str) -> None:
    """Anything else is refused with Alertmanager's words (a bad regex too)."""
    with pytest.raises(BadParameter, match=r"^bad matcher format"):
        parse_filter(text)


def test_filter_rule_needs_positive_labels_present() -> None:
    """As in Alertmanager: ``=``/``=~`` need the label (unless the value is empty); ``!=``/``!~``
    hold for an absent label they do not exclude."""
    labels = {"alertname": "Down", "target": "chat"}
    assert match_filter_labels([parse_filter('team=~".*"')], labels) is False
    assert match_filter_labels([parse_filter('team=""')], labels) is True
    assert match_filter_labels([parse_filter("team!=ml")], labels) is True
    assert match_filter_labels([parse_filter('target!=""')], labels) is True
    assert match_filter_labels(
        [parse_filter('target=~"c.*"'), parse_filter("alertname=Down")], labels
    )
    assert not match_filter_labels([parse_filter('target!~"c.*"')], labels)


def test_silence_filter_names_the_silences_own_matchers() -> None:
    """A silence passes a filter only when each filter matcher is one of its own."""
    from aiwatch.alertmanager_api.filters import silence_matches_filter

    silence = Silence(
        matchers=(parse_matcher('alertname="Down"'), parse_matcher('target=~"c.*"')),
        starts_at=0.0, ends_at=1.0, created_by="alice", comment="",
    )  # fmt: skip
    assert silence_matches_filter(silence, [parse_filter("alertname=Down")])
    assert silence_matches_filter(silence, [parse_filter('target=~"c.*"')])
    assert not silence_matches_filter(silence, [parse_filter('alertname=~"Do.*"')])
    assert not silence_matches_filter(silence, [parse_filter('target="c.*"')])
