"""What experiments remember in the SQLite store: each arm's running sums and each state.

Every function here takes the store's connection and runs in its writer (or a reader)
thread. Arms are pre-aggregated sufficient statistics per (experiment, variant, metric), so
reads cost O(arms) however many observations arrived, and adding observations is one upsert
per arm inside the caller's transaction.
"""

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiwatch.experiments.lifecycle import State
from aiwatch.experiments.observations import Arms, check_finite, merge
from aiwatch.stats import Mean, Proportion, Ratio, SufficientStats
from aiwatch.storage.migrations import Migrations

T = TypeVar("T")

MIGRATIONS = Migrations("aiwatch.experiments")
ARMS = "experiment_arms"
UNITS = "experiment_units"
STATES = "experiment_states"


class Store(Protocol):
    """The database's interface (``storage.sqlite.Database``): ``fn(conn)`` in a thread."""

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


@MIGRATIONS()
def m001_experiments(db: sqlite3.Connection) -> None:
    """Arms' sums, probe counts per variant (the sample-ratio check) and lifecycle states."""
    db.execute(
        f"""CREATE TABLE {ARMS} (
            experiment TEXT NOT NULL,
            variant TEXT NOT NULL,
            metric TEXT NOT NULL,
            kind TEXT NOT NULL,
            n INTEGER NOT NULL,
            sum REAL NOT NULL,
            sum_squares REAL NOT NULL,
            denominator_sum REAL NOT NULL DEFAULT 0,
            denominator_sum_squares REAL NOT NULL DEFAULT 0,
            cross_sum REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (experiment, variant, metric)
        )"""
    )
    db.execute(
        f"""CREATE TABLE {UNITS} (
            experiment TEXT NOT NULL,
            variant TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (experiment, variant)
        )"""
    )
    db.execute(
        f"""CREATE TABLE {STATES} (
            experiment TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            started_at REAL,
            changed_at REAL NOT NULL
        )"""
    )


def kind_of(stats: SufficientStats) -> str:
    """``proportion``, ``mean`` or ``ratio``: how an arm's sums are stored."""
    if isinstance(stats, Proportion):
        return "proportion"
    return "mean" if isinstance(stats, Mean) else "ratio"


def _row(stats: SufficientStats) -> tuple[Any, ...]:
    if isinstance(stats, Proportion):
        return ("proportion", stats.n, stats.successes, stats.successes, 0.0, 0.0, 0.0)
    if isinstance(stats, Mean):
        return ("mean", stats.n, stats.sum, stats.sum_squares, 0.0, 0.0, 0.0)
    return (
        "ratio",
        stats.n,
        stats.numerator_sum,
        stats.numerator_sum_squares,
        stats.denominator_sum,
        stats.denominator_sum_squares,
        stats.cross_sum,
    )


def _stats(row: tuple[Any, ...]) -> SufficientStats:
    kind, n, s, ss, ds, dss, cs = row
    if kind == "proportion":
        return Proportion(n=n, successes=s)
    if kind == "mean":
        return Mean(n=n, sum=s, sum_squares=ss)
    return Ratio(
        n=n,
        numerator_sum=s,
        numerator_sum_squares=ss,
        denominator_sum=ds,
        denominator_sum_squares=dss,
        cross_sum=cs,
    )


@dataclass(frozen=True)
class Saved:
    """One experiment's persisted record."""

    arms: Arms
    units: dict[str, int]
    state: State | None
    started_at: float | None
    switched_at: float | None = None


def add(
    conn: sqlite3.Connection,
    experiment: str,
    arms: Arms,
    units: Mapping[str, int] | None = None,
    *,
    guard: bool = False,
) -> None:
    """Add ``arms`` (and probe ``units``) to ``experiment``'s sums, in the caller's transaction.

    An arm stored with another kind (the metric's config changed) starts again from ``arms``.
    With ``guard``, :class:`Invalid` (and so a rollback) when a stored sum would stop being
    finite: the check and the write are one transaction, so concurrent posts cannot both pass.
    """
    totals: Arms = {}
    for (variant, metric), delta in arms.items():
        found = conn.execute(
            f"SELECT kind, n, sum, sum_squares, denominator_sum, denominator_sum_squares,"
            f" cross_sum FROM {ARMS} WHERE experiment = ? AND variant = ? AND metric = ?",
            [experiment, variant, metric],
        ).fetchone()
        total = delta
        if found is not None and found[0] == kind_of(delta):
            total = merge(_stats(tuple(found)), delta)
        totals[(variant, metric)] = total
        if guard:
            check_finite(totals)
        conn.execute(
            f"INSERT OR REPLACE INTO {ARMS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [experiment, variant, metric, *_row(total)],
        )
    for variant, n in (units or {}).items():
        conn.execute(
            f"INSERT INTO {UNITS} VALUES (?, ?, ?) ON CONFLICT (experiment, variant)"
            " DO UPDATE SET n = n + excluded.n",
            [experiment, variant, n],
        )


def set_state(
    conn: sqlite3.Connection, experiment: str, state: State, *, started_at: float | None, at: float
) -> None:
    """Record ``experiment``'s lifecycle state."""
    conn.execute(
        f"INSERT OR REPLACE INTO {STATES} VALUES (?, ?, ?, ?)",
        [experiment, state, started_at, at],
    )


def load(conn: sqlite3.Connection) -> dict[str, Saved]:
    """Every experiment's persisted arms, units and state, by experiment name."""
    arms: dict[str, Arms] = {}
    units: dict[str, dict[str, int]] = {}
    for exp, variant, metric, *rest in conn.execute(
        f"SELECT experiment, variant, metric, kind, n, sum, sum_squares, denominator_sum,"
        f" denominator_sum_squares, cross_sum FROM {ARMS}"
    ).fetchall():
        arms.setdefault(exp, {})[(variant, metric)] = _stats(tuple(rest))
    for exp, variant, n in conn.execute(f"SELECT experiment, variant, n FROM {UNITS}").fetchall():
        units.setdefault(exp, {})[variant] = n
    states = {
        exp: (state, started)
        for exp, state, started in conn.execute(
            f"SELECT experiment, state, started_at FROM {STATES}"
        ).fetchall()
    }
    switched = switches(conn)
    names = set(arms) | set(units) | set(states)
    return {
        name: Saved(
            arms=arms.get(name, {}),
            units=units.get(name, {}),
            state=states[name][0] if name in states else None,
            started_at=states[name][1] if name in states else None,
            switched_at=switched.get(name),
        )
        for name in names
    }


def put(conn: sqlite3.Connection, experiment: str, arms: Arms) -> None:
    """Set ``arms`` to these totals (data re-read in full each time, as from PromQL)."""
    for (variant, metric), stats in arms.items():
        conn.execute(
            f"INSERT OR REPLACE INTO {ARMS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [experiment, variant, metric, *_row(stats)],
        )


SWITCHES = "experiment_switches"
DEFINITIONS = "experiment_definitions"
ARCHIVE = "experiment_archive"


@MIGRATIONS()
def m002_release_and_api(db: sqlite3.Connection) -> None:
    """Blue-green switches, experiments defined over the API, and deleted ones' records."""
    db.execute(
        f"""CREATE TABLE {SWITCHES} (
            experiment TEXT PRIMARY KEY,
            switched_at REAL NOT NULL
        )"""
    )
    db.execute(
        f"""CREATE TABLE {DEFINITIONS} (
            name TEXT PRIMARY KEY,
            document TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    db.execute(
        f"""CREATE TABLE {ARCHIVE} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            document TEXT NOT NULL,
            state TEXT NOT NULL,
            started_at REAL,
            deleted_at REAL NOT NULL,
            result TEXT NOT NULL
        )"""
    )


def switch(conn: sqlite3.Connection, experiment: str, variant: str, *, at: float) -> None:
    """Record a blue-green switch and drop ``variant``'s (green's) data gathered before it."""
    conn.execute(f"INSERT OR REPLACE INTO {SWITCHES} VALUES (?, ?)", [experiment, at])
    conn.execute(f"DELETE FROM {ARMS} WHERE experiment = ? AND variant = ?", [experiment, variant])


def switches(conn: sqlite3.Connection) -> dict[str, float]:
    """When each switched blue-green experiment was switched."""
    rows = conn.execute(f"SELECT experiment, switched_at FROM {SWITCHES}").fetchall()
    return dict(rows)


def definitions(conn: sqlite3.Connection) -> dict[str, str]:
    """Every API-defined experiment's document (JSON text), by name, oldest first."""
    rows = conn.execute(f"SELECT name, document FROM {DEFINITIONS} ORDER BY created_at, name")
    return dict(rows.fetchall())


def define(conn: sqlite3.Connection, name: str, document: str, *, at: float) -> None:
    """Create or replace an API-defined experiment's document."""
    conn.execute(
        f"INSERT INTO {DEFINITIONS} VALUES (?, ?, ?, ?) ON CONFLICT (name)"
        " DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
        [name, document, at, at],
    )


def archive(
    conn: sqlite3.Connection,
    name: str,
    *,
    document: str,
    state: str,
    started_at: float | None,
    result: str,
    at: float,
) -> int:
    """Keep a deleted experiment's definition and results, then forget it everywhere else."""
    cursor = conn.execute(
        f"INSERT INTO {ARCHIVE} (name, document, state, started_at, deleted_at, result)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [name, document, state, started_at, at, result],
    )
    for table, key in (
        (DEFINITIONS, "name"),
        (ARMS, "experiment"),
        (UNITS, "experiment"),
        (STATES, "experiment"),
        (SWITCHES, "experiment"),
    ):
        conn.execute(f"DELETE FROM {table} WHERE {key} = ?", [name])
    return int(cursor.lastrowid or 0)


def archived(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The archive, newest first."""
    rows = conn.execute(
        f"SELECT id, name, document, state, started_at, deleted_at, result FROM {ARCHIVE}"
        " ORDER BY id DESC"
    ).fetchall()
    keys = ("id", "name", "document", "state", "started_at", "deleted_at", "result")
    return [dict(zip(keys, row, strict=True)) for row in rows]
