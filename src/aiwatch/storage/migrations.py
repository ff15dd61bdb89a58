"""Schema migrations on the standard library's ``sqlite3``: named steps, each applied once.

A feature declares a :class:`Migrations` set and decorates its steps in order; ``apply``
runs the steps the file has not seen, each in its own transaction together with the row
that records it. The record is the ``_sqlite_migrations`` table in the layout sqlite-utils
gives it, so a file created by an earlier aiwatch (which used sqlite-utils) is upgraded
in place and is not migrated twice. The standard library suffices: the daemon always opens
this file, and sqlite-utils would bring in click, dateutil, pluggy and numpy (pandas too
where it is installed), about 15 to 60 MB of resident memory, for a few ``CREATE TABLE``s.
"""

import contextlib
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

TABLE = "_sqlite_migrations"

Step = Callable[[sqlite3.Connection], None]
"""One migration: DDL and data changes run on the connection, inside a transaction."""


class Migrations:
    """An ordered set of named steps; the set's name keeps it apart from other features'."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps: list[tuple[str, Step]] = []

    def __call__(self, *, name: str | None = None) -> Callable[[Step], Step]:
        """Register the decorated function as the next step (named after it by default)."""

        def register(fn: Step) -> Step:
            step_name = name or fn.__name__
            if any(known == step_name for known, _ in self._steps):
                msg = f"migration {step_name!r} is already in set {self.name!r}"
                raise ValueError(msg)
            self._steps.append((step_name, fn))
            return fn

        return register

    def applied(self, conn: sqlite3.Connection) -> list[str]:
        """The names of this set's steps the file has seen, in the order they ran."""
        if not _has_table(conn):
            return []
        rows = conn.execute(
            f"SELECT name FROM {TABLE} WHERE migration_set = ? ORDER BY rowid", [self.name]
        )
        return [name for (name,) in rows]

    def pending(self, conn: sqlite3.Connection) -> list[str]:
        """The names of the steps still to run, in order."""
        done = set(self.applied(conn))
        return [name for name, _ in self._steps if name not in done]

    def apply(self, conn: sqlite3.Connection) -> None:
        """Run every pending step, each with its record in one transaction."""
        _ensure_table(conn)
        done = set(self.applied(conn))
        for name, step in self._steps:
            if name in done:
                continue
            with atomic(conn):
                step(conn)
                conn.execute(
                    f"INSERT INTO {TABLE} (migration_set, name, applied_at) VALUES (?, ?, ?)",
                    [self.name, name, str(datetime.now(UTC))],
                )

    def __repr__(self) -> str:
        return f"<Migrations {self.name!r}: {[name for name, _ in self._steps]}>"


def _has_table(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [TABLE]
    ).fetchone()
    return row is not None


def _ensure_table(conn: sqlite3.Connection) -> None:
    with atomic(conn):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id INTEGER PRIMARY KEY, migration_set TEXT, name TEXT, applied_at TEXT)"
        )
        conn.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS idx_{TABLE}_migration_set_name "
            f"ON {TABLE} (migration_set, name)"
        )


@contextlib.contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction around the block, or a savepoint inside a transaction already open.

    An exception undoes the block's changes only (a savepoint leaves the outer transaction
    as it was) and is raised again.
    """
    if not conn.in_transaction:
        conn.execute("BEGIN")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return
    savepoint = f"aiwatch_{secrets.token_hex(8)}"
    conn.execute(f"SAVEPOINT {savepoint}")
    try:
        yield conn
    except BaseException:
        # A RAISE(ROLLBACK) can end the whole transaction, savepoints included.
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
        raise
    conn.execute(f"RELEASE SAVEPOINT {savepoint}")
