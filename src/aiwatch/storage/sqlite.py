"""The daemon's SQLite file: one writer thread, reader threads, WAL, and migrations at open.

Any feature keeps its tables here: it registers a ``Migrations`` set (``storage.migrations``) with
``add_migrations`` in its ``setup`` and the sets are applied, in registration order, when the
file opens at start-up; then it hands ``fn(conn)`` to ``write`` or ``read``.
"""

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from aiwatch.storage.migrations import Migrations

log = logging.getLogger("aiwatch.incidents")

T = TypeVar("T")

DB_FILE = "aiwatch.db"
"""The file's name in the storage directory (``--storage.path``)."""
BUSY_TIMEOUT_MS = 10_000
READERS = 4

_Job = (
    tuple[Callable[[sqlite3.Connection], Any], "Future[Any]", Callable[[Any], None] | None] | None
)


class DatabaseError(Exception):
    """The database file cannot be opened, read or migrated; the message names the file."""


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), never implicit.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def check_file(path: Path) -> None:
    """Fail early (``DatabaseError`` naming the file) if an existing file cannot be used."""
    if not path.exists() and not path.is_symlink():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as err:
        msg = f"cannot open the incident database {path}: {err}"
        raise DatabaseError(msg) from err
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.Error as err:
        msg = f"cannot use the incident database {path}: {err}"
        raise DatabaseError(msg) from err
    finally:
        conn.close()
    if problems != ["ok"]:
        msg = f"cannot use the incident database {path}: integrity check failed: {problems[0]}"
        raise DatabaseError(msg)


class Database:
    """Writes run one at a time in one thread (``BEGIN IMMEDIATE``); reads run beside them.

    Async code hands ``fn(conn)`` to ``write`` or ``read`` and awaits the result, so the
    event loop never waits for SQLite. Readers use their own connections and, in WAL mode,
    are never blocked by the writer.
    """

    def __init__(self, path: Path, *, readers: int = READERS) -> None:
        self.path = path
        self._readers = readers
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.migrations: list[Migrations] = []
        """The sets ``open`` applies, in order (see ``add_migrations``)."""

    def add_migrations(self, migrations: Migrations) -> None:
        """Apply ``migrations`` (a ``Migrations`` set) when the file opens, after earlier ones."""
        if self._writer is not None:
            msg = f"add migrations to {self.path} before it opens"
            raise RuntimeError(msg)
        if migrations not in self.migrations:
            self.migrations.append(migrations)

    def open(self, migrations: Sequence[Migrations] = ()) -> None:
        """Open (creating) the file, check it, apply migrations, start the threads (blocking).

        The registered sets (``add_migrations``) are applied first, then ``migrations``.
        """
        migrations = [*self.migrations, *migrations]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path)
        except (OSError, sqlite3.Error) as err:
            msg = f"cannot open the incident database {self.path}: {err}"
            raise DatabaseError(msg) from err
        try:
            self._prepare(conn, migrations)
        except (sqlite3.Error, OSError) as err:
            conn.close()
            msg = f"cannot use the incident database {self.path}: {err}"
            raise DatabaseError(msg) from err
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="aiwatch-db-writer", daemon=True
        )
        self._writer.start()
        self._pool = ThreadPoolExecutor(self._readers, thread_name_prefix="aiwatch-db-reader")

    def _prepare(self, conn: sqlite3.Connection, migrations: Sequence[Migrations]) -> None:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            msg = f"journal_mode is {mode}, WAL expected"
            raise sqlite3.DatabaseError(msg)
        # NORMAL in WAL mode: a killed process loses no commit; only a power cut may.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            msg = "integrity check failed: " + "; ".join(problems[:5])
            raise sqlite3.DatabaseError(msg)
        for migration_set in migrations:
            migration_set.apply(conn)

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                conn.close()
                return
            fn, fut, after_commit = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException as err:  # handed to the awaiting coroutine
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                fut.set_exception(err)
                continue
            if after_commit is not None:
                try:
                    after_commit(result)
                except Exception:
                    log.exception("after-commit callback failed")
            fut.set_result(result)

    async def write(
        self,
        fn: Callable[[sqlite3.Connection], T],
        *,
        after_commit: Callable[[T], None] | None = None,
    ) -> T:
        """Run ``fn(conn)`` in the writer thread inside ``BEGIN IMMEDIATE`` … ``COMMIT``.

        An exception rolls the transaction back and is raised here. ``after_commit(result)``
        runs in the writer thread right after the commit, so its calls come in commit order.
        """
        if self._writer is None:
            msg = f"the incident database {self.path} is not open"
            raise DatabaseError(msg)
        fut: Future[T] = Future()
        self._jobs.put((fn, fut, after_commit))
        return await asyncio.wrap_future(fut)

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def _run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._reader()
        # One read transaction: every query of ``fn`` sees the same snapshot.
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in a reader thread on a consistent snapshot (no writes)."""
        if self._pool is None:
            msg = f"the incident database {self.path} is not open"
            raise DatabaseError(msg)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run_read, fn)

    def close(self) -> None:
        """Finish queued writes, then stop the threads and close every connection (blocking)."""
        if self._writer is not None:
            self._jobs.put(None)
            self._writer.join()
            self._writer = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
