"""Durable uptime counts: per target and UTC hour, probes, passes and degraded passes.

Each probe result is one dictionary update in memory; ``flush`` writes the counts to SQLite
in one transaction (every ``FLUSH_SECONDS`` and at shutdown), adding to what is there, so
a crash loses at most the counts of one interval. Reads add the counts not yet written.
"""

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiwatch.clock import Clock, SystemClock
from aiwatch.probes.result import ProbeResult
from aiwatch.storage.migrations import Migrations

HOUR = 3600
FLUSH_SECONDS = 60.0
KEEP_DAYS = 400
"""Rows older than this are deleted when the counts are written."""

MIGRATIONS = Migrations("aiwatch.status")


@MIGRATIONS()
def m001_uptime_rollups(db: sqlite3.Connection) -> None:
    """Hourly probe counts per target, for uptime that outlives the samples' retention."""
    db.execute(
        """CREATE TABLE uptime_rollups (
            target TEXT NOT NULL,
            hour INTEGER NOT NULL,
            probes INTEGER NOT NULL,
            successes INTEGER NOT NULL,
            degraded INTEGER NOT NULL,
            PRIMARY KEY (target, hour)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX uptime_rollups_hour ON uptime_rollups (hour)")


@dataclass
class Counts:
    """Probes, passes and passes while degraded, in one hour of one target."""

    probes: int = 0
    successes: int = 0
    degraded: int = 0

    def add(self, other: "Counts") -> None:
        """Add ``other``'s counts to these."""
        self.probes += other.probes
        self.successes += other.successes
        self.degraded += other.degraded


Key = tuple[str, int]
"""(target, hour): the hour as Unix seconds at its start (UTC)."""


class Rollups:
    """A probe listener counting results per target and hour, and their SQLite rows."""

    def __init__(self, *, degraded: Callable[[str], bool], clock: Clock | None = None) -> None:
        """``degraded(target)`` says whether the target's last probe left it degraded."""
        self.clock: Clock = clock or SystemClock()
        self._degraded = degraded
        self.pending: dict[Key, Counts] = {}

    def __call__(self, result: ProbeResult) -> None:
        """Count one scheduled probe's result (a ``ProbeListener``)."""
        key = (result.target, int(self.clock.now()) // HOUR * HOUR)
        counts = self.pending.get(key)
        if counts is None:
            counts = self.pending[key] = Counts()
        counts.probes += 1
        if result.success:
            counts.successes += 1
            counts.degraded += self._degraded(result.target)

    def take(self) -> dict[Key, Counts]:
        """The counts not written yet, handed over (``restore`` them if writing fails)."""
        taken, self.pending = self.pending, {}
        return taken

    def restore(self, taken: dict[Key, Counts]) -> None:
        """Put counts back after a failed write, added to those counted meanwhile."""
        for key, counts in taken.items():
            self.pending.setdefault(key, Counts()).add(counts)

    def write(self, conn: sqlite3.Connection, taken: dict[Key, Counts]) -> None:
        """Add ``taken`` to the rows (in the caller's transaction) and drop old rows."""
        conn.executemany(
            """INSERT INTO uptime_rollups (target, hour, probes, successes, degraded)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (target, hour) DO UPDATE SET
                 probes = probes + excluded.probes,
                 successes = successes + excluded.successes,
                 degraded = degraded + excluded.degraded""",
            [(t, h, c.probes, c.successes, c.degraded) for (t, h), c in taken.items()],
        )
        oldest = int(self.clock.now()) - KEEP_DAYS * 86400
        conn.execute("DELETE FROM uptime_rollups WHERE hour < ?", (oldest,))

    def merged(self, rows: Iterable[tuple[str, int, int, int, int]]) -> dict[Key, Counts]:
        """Stored ``rows`` plus the counts not written yet."""
        out: dict[Key, Counts] = {}
        for target, hour, probes, successes, degraded in rows:
            out[(target, hour)] = Counts(probes, successes, degraded)
        for key, counts in self.pending.items():
            out.setdefault(key, Counts()).add(counts)
        return out


def stored(
    conn: sqlite3.Connection, targets: Iterable[str], *, since: int
) -> list[tuple[str, int, int, int, int]]:
    """The rows of ``targets`` from the hour ``since`` on."""
    names = list(targets)
    if not names:
        return []
    marks = ", ".join("?" * len(names))
    cursor = conn.execute(
        "SELECT target, hour, probes, successes, degraded FROM uptime_rollups "
        f"WHERE hour >= ? AND target IN ({marks})",
        [since, *names],
    )
    return [tuple(row) for row in cursor]
