"""The ``Timeline`` contract: how another feature notes an event on an incident's timeline."""

import sqlite3
from typing import Protocol

from aiwatch.incidents.lifecycle import Event
from aiwatch.incidents.records import add_event


class Timeline(Protocol):
    """Appends a ``notified`` event to incident ``incident_id``, in the caller's transaction.

    Runs in the database's writer thread, inside a write that the caller (the notifier,
    marking its outbox row) is making, so the row and the timeline entry commit together.
    """

    def __call__(self, conn: sqlite3.Connection, incident_id: int, detail: str, at: float) -> None:
        """Note on the timeline that the incident was notified (``detail`` says where)."""


def notified(conn: sqlite3.Connection, incident_id: int, detail: str, at: float) -> None:
    """The ``notified`` event on the incident's timeline (a ``Timeline``)."""
    add_event(conn, incident_id, Event(at=at, event="notified", detail=detail))
