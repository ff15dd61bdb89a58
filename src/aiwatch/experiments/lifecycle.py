"""An experiment's lifecycle: draft → running → paused → stopped, and which moves are legal."""

from typing import Literal

State = Literal["draft", "running", "paused", "stopped"]
Action = Literal["start", "pause", "stop"]

ACTIONS: tuple[Action, ...] = ("start", "pause", "stop")

_MOVES: dict[tuple[State, Action], State] = {
    ("draft", "start"): "running",
    ("paused", "start"): "running",
    ("running", "pause"): "paused",
    ("draft", "stop"): "stopped",
    ("running", "stop"): "stopped",
    ("paused", "stop"): "stopped",
}
"""Every legal move. ``stopped`` is final: a stopped experiment's data are its record."""


class IllegalTransition(ValueError):
    """An action that the experiment's current state does not allow."""


def transition(state: State, action: Action) -> State:
    """The state after ``action``, or :class:`IllegalTransition` saying why not."""
    after = _MOVES.get((state, action))
    if after is None:
        allowed = sorted(a for (s, a) in _MOVES if s == state)
        hint = f"; allowed: {', '.join(allowed)}" if allowed else "; a stopped experiment is final"
        msg = f"cannot {action} an experiment that is {state}{hint}"
        raise IllegalTransition(msg)
    return after


def collects(state: State) -> bool:
    """Whether data are collected in ``state`` (only while running)."""
    return state == "running"
