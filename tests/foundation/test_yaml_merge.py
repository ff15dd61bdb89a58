"""YAML anchors and merge keys work as YAML defines them; only keys written twice are errors."""

import pytest

from aiwatch.config import ConfigError, parse_config

SHARED = """\
targets:
  - &chat
    name: a
    kind: openai_chat
    url: http://127.0.0.1:1/v1
    model: small
  - <<: *chat
    name: b
    model: large
"""


def test_keys_next_to_a_merge_override_the_merged_ones() -> None:
    """``<<: *chat`` then ``name: b`` gives b, with the anchor's other keys."""
    config = parse_config(SHARED, "a.yml", env={})
    assert [(t.name, t.model, t.kind) for t in config.targets] == [
        ("a", "small", "openai_chat"),
        ("b", "large", "openai_chat"),
    ]


def test_earlier_merge_sources_win_and_anchors_may_merge_again() -> None:
    """In ``<<: [*x, *y]`` the first wins; an anchored mapping that merges can be reused."""
    text = """\
targets:
  - &base
    name: a
    kind: http
    url: http://127.0.0.1:1/a
    interval: 1m
  - &second
    <<: *base
    name: b
    interval: 2m
  - <<: [*second, *base]
    name: c
  - <<: *second
    name: d
"""
    config = parse_config(text, "a.yml", env={})
    assert [(t.name, t.interval) for t in config.targets] == [
        ("a", 60.0),
        ("b", 120.0),
        ("c", 120.0),
        ("d", 120.0),
    ]


def test_a_key_written_twice_is_still_a_located_error() -> None:
    """Two explicit ``name:`` keys in one mapping are reported at the second."""
    text = SHARED + "    name: c\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "a.yml", env={})
    assert [str(p) for p in info.value.problems] == [
        "a.yml:10:5: targets[1].name: duplicate key 'name'"
    ]
