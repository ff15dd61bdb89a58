"""The durable outbox: notifications written before they are sent, marked after.

Every function here takes the store's database and runs in its writer (or a reader)
thread. A notification's identity is (incident, kind, route, seq): queueing the same
one twice is a no-op, so at most one is ever sent unless a retry follows a failure.
"""

import json
import random
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiwatch.notify.facts import Facts
from aiwatch.notify.messages import Message
from aiwatch.notify.routing import Planned
from aiwatch.storage.migrations import Migrations, atomic

MIGRATIONS = Migrations("aiwatch.notify")

OUTBOX = "notify_outbox"
WATCH = "notify_watch"

BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0


@MIGRATIONS()
def m001_outbox(db: sqlite3.Connection) -> None:
    """The outbox and the incidents that may need reminders."""
    db.execute(
        f"""CREATE TABLE {OUTBOX} (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            route TEXT NOT NULL,
            seq INTEGER NOT NULL DEFAULT 0,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            notify_type TEXT NOT NULL,
            event_at REAL NOT NULL,
            created_at REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            delivered TEXT NOT NULL DEFAULT '[]',
            last_error TEXT,
            sent_at REAL,
            UNIQUE (incident_id, kind, route, seq)
        )"""
    )
    db.execute(f"CREATE INDEX {OUTBOX}_due ON {OUTBOX} (state, next_attempt_at)")
    db.execute(
        f"""CREATE TABLE {WATCH} (
            incident_id INTEGER NOT NULL,
            route TEXT NOT NULL,
            started_at REAL NOT NULL,
            facts TEXT NOT NULL,
            PRIMARY KEY (incident_id, route)
        )"""
    )


def migrate(conn: sqlite3.Connection) -> None:
    """Create or upgrade the outbox tables."""
    MIGRATIONS.apply(conn)


@dataclass(frozen=True)
class Row:
    """One queued notification."""

    id: int
    incident_id: int
    kind: str
    route: str
    seq: int
    message: Message
    event_at: float
    attempts: int
    delivered: tuple[str, ...]


@dataclass(frozen=True)
class Queued:
    """A notification to put in the outbox."""

    planned: Planned
    incident_id: int
    message: Message
    event_at: float


def enqueue(conn: sqlite3.Connection, items: Iterable[Queued], *, now: float) -> int:
    """Queue notifications not queued before; returns how many are new."""
    added = 0
    with atomic(conn):
        for item in items:
            cur = conn.execute(
                f"""INSERT OR IGNORE INTO {OUTBOX}
                (incident_id, kind, route, seq, title, body, notify_type, event_at,
                 created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    item.incident_id,
                    item.planned.kind,
                    item.planned.route,
                    item.planned.seq,
                    item.message.title,
                    item.message.body,
                    item.message.notify_type,
                    item.event_at,
                    now,
                    now,
                ],
            )
            added += cur.rowcount
    return added


def _row(r: tuple[Any, ...]) -> Row:
    return Row(
        id=r[0],
        incident_id=r[1],
        kind=r[2],
        route=r[3],
        seq=r[4],
        message=Message(title=r[5], body=r[6], notify_type=r[7]),
        event_at=r[8],
        attempts=r[9],
        delivered=tuple(json.loads(r[10])),
    )


def due(conn: sqlite3.Connection, *, now: float, limit: int = 50) -> list[Row]:
    """Pending rows whose time has come, oldest first.

    A row waits while an older row for the same incident and route is still pending, so
    a route hears "resolved" only after it heard "firing".
    """
    cur = conn.execute(
        f"""SELECT o.id, o.incident_id, o.kind, o.route, o.seq, o.title, o.body,
                   o.notify_type, o.event_at, o.attempts, o.delivered
            FROM {OUTBOX} o
            WHERE o.state = 'pending' AND o.next_attempt_at <= ?
              AND NOT EXISTS (
                SELECT 1 FROM {OUTBOX} p
                WHERE p.state = 'pending' AND p.incident_id = o.incident_id
                  AND p.route = o.route AND p.id < o.id)
            ORDER BY o.id LIMIT ?""",
        [now, limit],
    )
    return [_row(r) for r in cur.fetchall()]


def next_attempt(conn: sqlite3.Connection) -> float | None:
    """When the earliest pending row is due, if any is pending."""
    row = conn.execute(
        f"SELECT MIN(next_attempt_at) FROM {OUTBOX} WHERE state = 'pending'"
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def pending_count(conn: sqlite3.Connection) -> int:
    """The outbox backlog."""
    row = conn.execute(f"SELECT COUNT(*) FROM {OUTBOX} WHERE state = 'pending'").fetchone()
    return int(row[0])


def backoff(attempts: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with full jitter on the upper half (never zero)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(attempts - 1, 0))
    uniform = rng.uniform if rng is not None else random.uniform
    return ceiling / 2 + uniform(0, ceiling / 2)


def mark_sent(
    conn: sqlite3.Connection, row_id: int, *, now: float, delivered: Iterable[str]
) -> None:
    """Delivered everywhere: never send this row again."""
    conn.execute(
        f"""UPDATE {OUTBOX} SET state = 'sent', sent_at = ?, attempts = attempts + 1,
            delivered = ?, last_error = NULL WHERE id = ?""",
        [now, json.dumps(sorted(delivered)), row_id],
    )


def mark_failed(
    conn: sqlite3.Connection,
    row_id: int,
    *,
    now: float,
    delivered: Iterable[str],
    error: str,
    retry_in: float,
) -> None:
    """Record a failed attempt; keep what did get through so a retry skips it."""
    conn.execute(
        f"""UPDATE {OUTBOX} SET attempts = attempts + 1, next_attempt_at = ?,
            delivered = ?, last_error = ? WHERE id = ?""",
        [now + retry_in, json.dumps(sorted(delivered)), error, row_id],
    )


@dataclass(frozen=True)
class Failure:
    """A notification whose last attempt failed (``at``: when it was queued)."""

    incident_id: int
    kind: str
    route: str
    title: str
    state: str
    attempts: int
    error: str
    at: float


def recent_failures(conn: sqlite3.Connection, *, limit: int = 10) -> list[Failure]:
    """The latest notifications whose last attempt failed, newest first."""
    rows = conn.execute(
        f"""SELECT incident_id, kind, route, title, state, attempts, last_error,
            created_at FROM {OUTBOX}
            WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT ?""",
        [limit],
    )
    return [Failure(*row) for row in rows]


def mark_dropped(conn: sqlite3.Connection, row_id: int, *, error: str) -> None:
    """Give up on a row that can never be sent (its route was removed from the config)."""
    conn.execute(
        f"UPDATE {OUTBOX} SET state = 'dropped', last_error = ? WHERE id = ?", [error, row_id]
    )


def watch(conn: sqlite3.Connection, facts: Facts, routes: Iterable[str]) -> None:
    """Remember a firing incident so its routes can be reminded and escalated."""
    with atomic(conn):
        for route in routes:
            conn.execute(
                f"""INSERT OR REPLACE INTO {WATCH} (incident_id, route, started_at, facts)
                VALUES (?, ?, ?, ?)""",
                [facts.id, route, facts.started_at, json.dumps(facts.to_json())],
            )


def escalated_to(conn: sqlite3.Connection, incident_id: int) -> list[str]:
    """The routes this incident was escalated to, in the order they were."""
    rows = conn.execute(
        f"SELECT route FROM {OUTBOX} WHERE incident_id = ? AND kind = 'escalation' ORDER BY id",
        [incident_id],
    )
    return [r[0] for r in rows.fetchall()]


def unwatch(conn: sqlite3.Connection, incident_id: int) -> None:
    """The incident was acknowledged, resolved or silenced: no more reminders."""
    conn.execute(f"DELETE FROM {WATCH} WHERE incident_id = ?", [incident_id])


def watched(conn: sqlite3.Connection) -> list[tuple[str, Facts]]:
    """Every (route, incident) that may need a reminder or escalation."""
    cur = conn.execute(f"SELECT route, facts FROM {WATCH} ORDER BY incident_id")
    return [(route, Facts(**json.loads(facts))) for route, facts in cur.fetchall()]


def sent_rows(conn: sqlite3.Connection) -> list[tuple[int, str, str, int]]:
    """(incident, kind, route, seq) of every sent row, for status pages and tests."""
    cur = conn.execute(
        f"SELECT incident_id, kind, route, seq FROM {OUTBOX} WHERE state = 'sent' ORDER BY id"
    )
    return [(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in cur.fetchall()]


def prune(conn: sqlite3.Connection, *, before: float) -> int:
    """Forget rows sent or dropped before ``before``; pending rows are always kept."""
    cur = conn.execute(
        f"DELETE FROM {OUTBOX} WHERE state != 'pending' AND created_at < ?", [before]
    )
    return int(cur.rowcount)
