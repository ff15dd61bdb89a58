"""Incidents and their timelines as SQLite rows: the schema and every query on it.

Every function takes the store's ``sqlite3.Connection`` and runs in its writer or a reader
thread, inside the caller's transaction.
"""

import json
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiwatch.incidents.lifecycle import Change, Event, Incident, State
from aiwatch.matchers import Matcher, matches_all
from aiwatch.storage.migrations import Migrations

MIGRATIONS = Migrations("aiwatch.incidents")


@MIGRATIONS()
def m001_incidents(db: sqlite3.Connection) -> None:
    """Incidents, their timeline events and silences."""
    db.execute(
        """CREATE TABLE incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            fingerprint TEXT NOT NULL,
            state TEXT NOT NULL,
            alertname TEXT NOT NULL,
            severity TEXT NOT NULL,
            labels TEXT NOT NULL,
            annotations TEXT NOT NULL,
            value REAL,
            started_at REAL NOT NULL,
            acknowledged_at REAL,
            acknowledged_by TEXT,
            resolved_at REAL,
            resolved_by TEXT,
            previous_id INTEGER REFERENCES incidents (id),
            silenced INTEGER NOT NULL DEFAULT 0,
            generator_url TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX incidents_fingerprint ON incidents (fingerprint, id)")
    db.execute("CREATE INDEX incidents_state ON incidents (state, id)")
    # At most one open incident per alert, whatever a bug elsewhere tries.
    db.execute(
        "CREATE UNIQUE INDEX incidents_one_open ON incidents (fingerprint) "
        "WHERE state IN ('firing', 'acknowledged')"
    )
    db.execute(
        """CREATE TABLE incident_events (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            at REAL NOT NULL,
            event TEXT NOT NULL,
            by TEXT,
            detail TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX incident_events_incident ON incident_events (incident_id, id)")
    db.execute(
        """CREATE TABLE silences (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            matchers TEXT NOT NULL,
            starts_at REAL NOT NULL,
            ends_at REAL NOT NULL,
            created_by TEXT NOT NULL,
            comment TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX silences_ends ON silences (ends_at)")


@MIGRATIONS()
def m002_ends_at(db: sqlite3.Connection) -> None:
    """A pushed alert's endsAt, so one whose sender goes quiet resolves then."""
    db.execute("ALTER TABLE incidents ADD COLUMN ends_at REAL")


class NotFound(LookupError):
    """No incident (or silence) with that id."""


_COLUMNS = (
    "id, fingerprint, state, labels, annotations, value, started_at, acknowledged_at, "
    "acknowledged_by, resolved_at, resolved_by, previous_id, silenced, generator_url, ends_at"
)


def _incident(row: Sequence[Any]) -> Incident:
    value = row[5]
    return Incident(
        id=row[0],
        fingerprint=row[1],
        state=row[2],
        labels=json.loads(row[3]),
        annotations=json.loads(row[4]),
        value=math.nan if value is None else float(value),
        started_at=row[6],
        acknowledged_at=row[7],
        acknowledged_by=row[8],
        resolved_at=row[9],
        resolved_by=row[10],
        previous_id=row[11],
        silenced=bool(row[12]),
        generator_url=row[13],
        ends_at=row[14],
    )


def timeline(conn: sqlite3.Connection, incident_id: int) -> tuple[Event, ...]:
    """The incident's events in the order they were written."""
    rows = conn.execute(
        "SELECT at, event, by, detail FROM incident_events WHERE incident_id = ? ORDER BY id",
        (incident_id,),
    )
    return tuple(Event(at=r[0], event=r[1], by=r[2], detail=r[3]) for r in rows)


def get(conn: sqlite3.Connection, incident_id: int, *, with_timeline: bool = True) -> Incident:
    """One incident, with its timeline; ``NotFound`` when there is none."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        msg = f"no incident with id {incident_id}"
        raise NotFound(msg)
    incident = _incident(row)
    if with_timeline:
        incident = replace(incident, timeline=timeline(conn, incident_id))
    return incident


def open_for(conn: sqlite3.Connection, fingerprint: str) -> Incident | None:
    """The open (firing or acknowledged) incident of an alert."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE fingerprint = ? "
        "AND state IN ('firing', 'acknowledged')",
        (fingerprint,),
    ).fetchone()
    return None if row is None else _incident(row)


def latest_for(conn: sqlite3.Connection, fingerprint: str) -> Incident | None:
    """The newest incident of an alert, whatever its state."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
        (fingerprint,),
    ).fetchone()
    return None if row is None else _incident(row)


def _value(value: float) -> float | None:
    return value if math.isfinite(value) else None


def save(conn: sqlite3.Connection, change: Change) -> Incident:
    """Write a change (insert a new incident, or update one) and append its events."""
    inc = change.incident
    fields = (
        inc.state,
        inc.alertname,
        inc.severity,
        json.dumps(dict(inc.labels), sort_keys=True),
        json.dumps(dict(inc.annotations), sort_keys=True),
        _value(inc.value),
        inc.started_at,
        inc.acknowledged_at,
        inc.acknowledged_by,
        inc.resolved_at,
        inc.resolved_by,
        inc.previous_id,
        int(inc.silenced),
        inc.generator_url,
        inc.ends_at,
    )
    names = (
        "state, alertname, severity, labels, annotations, value, started_at, acknowledged_at, "
        "acknowledged_by, resolved_at, resolved_by, previous_id, silenced, generator_url, ends_at"
    )
    if change.opened:
        cursor = conn.execute(
            f"INSERT INTO incidents (fingerprint, {names}) VALUES (?{', ?' * len(fields)})",
            (inc.fingerprint, *fields),
        )
        inc = replace(inc, id=int(cursor.lastrowid or 0))
    else:
        sets = ", ".join(f"{n.strip()} = ?" for n in names.split(","))
        conn.execute(f"UPDATE incidents SET {sets} WHERE id = ?", (*fields, inc.id))
    conn.executemany(
        "INSERT INTO incident_events (incident_id, at, event, by, detail) VALUES (?, ?, ?, ?, ?)",
        [(inc.id, e.at, e.event, e.by, e.detail) for e in change.events],
    )
    return inc


def add_event(conn: sqlite3.Connection, incident_id: int, event: Event) -> None:
    """Append one event to an incident's timeline (``NotFound`` for an unknown id)."""
    if conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone() is None:
        msg = f"no incident with id {incident_id}"
        raise NotFound(msg)
    conn.execute(
        "INSERT INTO incident_events (incident_id, at, event, by, detail) VALUES (?, ?, ?, ?, ?)",
        (incident_id, event.at, event.event, event.by, event.detail),
    )


@dataclass(frozen=True)
class Query:
    """A page of incidents: newest first, filtered."""

    states: tuple[State, ...] = ()
    severities: tuple[str, ...] = ()
    matchers: tuple[Matcher, ...] = ()
    limit: int = 100
    before: int | None = None
    started_after: float | None = None
    started_before: float | None = None
    text: str = ""
    """Words each found (case-insensitively) in the alert name, a label or an annotation."""


def _rows(conn: sqlite3.Connection, query: Query) -> Iterator[Incident]:
    where: list[str] = []
    params: list[Any] = []
    if query.states:
        where.append(f"state IN ({', '.join('?' * len(query.states))})")
        params.extend(query.states)
    if query.severities:
        where.append(f"severity IN ({', '.join('?' * len(query.severities))})")
        params.extend(query.severities)
    if query.before is not None:
        where.append("id < ?")
        params.append(query.before)
    if query.started_after is not None:
        where.append("started_at >= ?")
        params.append(query.started_after)
    if query.started_before is not None:
        where.append("started_at < ?")
        params.append(query.started_before)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cursor = conn.execute(f"SELECT {_COLUMNS} FROM incidents{clause} ORDER BY id DESC", params)
    for row in cursor:
        yield _incident(row)


def find(conn: sqlite3.Connection, query: Query) -> list[Incident]:
    """The page of incidents ``query`` selects, newest first, without timelines."""
    out: list[Incident] = []
    if query.limit <= 0:
        return out
    words = query.text.lower().split()
    for incident in _rows(conn, query):
        if matches_all(query.matchers, incident.labels) and _has_words(incident, words):
            out.append(incident)
            if len(out) >= query.limit:
                break
    return out


def _has_words(incident: Incident, words: list[str]) -> bool:
    if not words:
        return True
    pairs = [*incident.labels.items(), *incident.annotations.items()]
    haystack = "\n".join(f"{k}={v}" for k, v in pairs).lower()
    return all(word in haystack for word in words)


def open_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many incidents are firing and acknowledged."""
    counts = {"firing": 0, "acknowledged": 0}
    rows = conn.execute(
        "SELECT state, count(*) FROM incidents WHERE state IN ('firing', 'acknowledged') "
        "GROUP BY state"
    )
    for state, count in rows:
        counts[state] = count
    return counts


def open_incidents(conn: sqlite3.Connection) -> list[Incident]:
    """Every open incident (to apply a new silence to)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE state IN ('firing', 'acknowledged') ORDER BY id"
    )
    return [_incident(r) for r in rows]


def past_ends(conn: sqlite3.Connection, *, now: float) -> list[Incident]:
    """Open incidents of pushed alerts whose ``endsAt`` passed with no newer report."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM incidents WHERE state IN ('firing', 'acknowledged') "
        "AND ends_at IS NOT NULL AND ends_at <= ? ORDER BY id",
        (now,),
    )
    return [_incident(r) for r in rows]
