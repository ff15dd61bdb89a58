"""Fixtures for the experiments tests: a SQLite store with the incident store's write/read API."""

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


class ThreadStore:
    """One writer thread over a real SQLite file; ``write(fn)`` runs ``fn(conn)`` atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: list[tuple[Callable[[Any], Any], Future[Any]]] = []
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        while True:
            with self._cv:
                while not self._jobs and not self._closed:
                    self._cv.wait()
                if not self._jobs:
                    conn.close()
                    return
                fn, fut = self._jobs.pop(0)
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = fn(conn)
                conn.execute("COMMIT")
                fut.set_result(result)
            except BaseException as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                fut.set_exception(err)

    async def write(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(conn)`` in the writer thread, in one transaction."""
        fut: Future[T] = Future()
        with self._cv:
            self._jobs.append((fn, fut))
            self._cv.notify()
        return await asyncio.wrap_future(fut)

    read = write

    def close(self) -> None:
        """Finish queued jobs and close the connection."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(5)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's SQLite file lives."""
    return tmp_path / "aiwatch.db"


@pytest.fixture
def open_store(db_path: Path) -> Iterator[Callable[[], ThreadStore]]:
    """Open stores on the same file (a restart is closing one and opening another)."""
    opened: list[ThreadStore] = []

    def make() -> ThreadStore:
        store = ThreadStore(db_path)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
