"""The lifecycle's legal and illegal moves."""

import pytest

from aiwatch.experiments.lifecycle import IllegalTransition, State, collects, transition


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        ("draft", "start", "running"),
        ("running", "pause", "paused"),
        ("paused", "start", "running"),
        ("draft", "stop", "stopped"),
        ("running", "stop", "stopped"),
        ("paused", "stop", "stopped"),
    ],
)
def test_legal_moves(state: str, action: str, after: str) -> None:
    """draft → running ⇄ paused → stopped, and any unfinished experiment may stop."""
    assert transition(state, action) == after  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("running", "start"),
        ("draft", "pause"),
        ("paused", "pause"),
        ("stopped", "start"),
        ("stopped", "pause"),
        ("stopped", "stop"),
    ],
)
def test_illegal_moves_say_what_is_allowed(state: str, action: str) -> None:
    """An illegal move raises, naming the state and what is allowed instead."""
    with pytest.raises(IllegalTransition, match=f"cannot {action} an experiment that is {state}"):
        transition(state, action)  # type: ignore[arg-type]


def test_only_running_collects() -> None:
    """Data are collected only while running."""
    states: tuple[State, ...] = ("draft", "running", "paused", "stopped")
    assert [s for s in states if collects(s)] == ["running"]
