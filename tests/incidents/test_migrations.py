"""Schema migrations on ``sqlite3``: each step once, and files made by sqlite-utils carry on."""

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database as UtilsDatabase
from sqlite_utils.migrations import Migrations as UtilsMigrations

from aiwatch.incidents import records
from aiwatch.incidents.store import IncidentStore
from aiwatch.storage.migrations import Migrations, atomic


def _applied(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT migration_set, name FROM _sqlite_migrations ORDER BY id")
        return [(str(a), str(b)) for a, b in rows]
    finally:
        conn.close()


async def test_a_file_migrated_by_sqlite_utils_opens_without_running_its_steps_again(
    tmp_path: Path,
) -> None:
    """An incident database an earlier aiwatch created through sqlite-utils' migrations opens,
    keeps its rows and gets no step twice (a second ``CREATE TABLE`` would fail)."""
    path = tmp_path / "aiwatch.db"
    old = UtilsMigrations("aiwatch.incidents")
    old(name="m001_incidents")(records.m001_incidents)
    old(name="m002_ends_at")(records.m002_ends_at)
    conn = sqlite3.connect(path, isolation_level=None)
    old.apply(UtilsDatabase(conn))
    conn.execute(
        "INSERT INTO incidents (fingerprint, alertname, labels, annotations, severity, state,"
        " started_at) VALUES ('fp', 'A', '{}', '{}', 'page', 'firing', 1)"
    )
    conn.close()

    store = IncidentStore(path)
    await store.open()
    try:
        count = await store.read(lambda c: c.execute("SELECT count(*) FROM incidents").fetchone())
    finally:
        await store.close()
    assert count == (1,)
    assert _applied(path) == [
        ("aiwatch.incidents", "m001_incidents"),
        ("aiwatch.incidents", "m002_ends_at"),
    ]


def test_a_failing_step_leaves_no_trace_and_stays_pending(tmp_path: Path) -> None:
    """A step that raises is rolled back with its record; the next apply runs it again."""
    steps = Migrations("test.failing")
    fail = [True]

    @steps()
    def m001_table(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE t (x INTEGER)")
        if fail[0]:
            raise RuntimeError("disk on fire")

    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    with pytest.raises(RuntimeError, match="disk on fire"):
        steps.apply(conn)
    assert steps.pending(conn) == ["m001_table"]
    fail[0] = False
    steps.apply(conn)
    assert steps.pending(conn) == []
    assert steps.applied(conn) == ["m001_table"]
    conn.close()


def test_atomic_inside_a_transaction_undoes_only_its_own_block(tmp_path: Path) -> None:
    """Nested in an open transaction, a failing block rolls back to its savepoint only."""
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (1)")

    def insert_then_fail() -> None:
        with atomic(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        insert_then_fail()
    assert conn.in_transaction
    conn.execute("COMMIT")
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    conn.close()
