"""The incident store on a real SQLite file: writer thread, readers, migrations, listeners."""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aiwatch.incidents.lifecycle import Alert, IllegalTransition
from aiwatch.incidents.records import NotFound, Query
from aiwatch.incidents.silences import Silence
from aiwatch.incidents.store import IncidentStore
from aiwatch.matchers import parse_matcher
from aiwatch.storage.migrations import Migrations
from aiwatch.storage.sqlite import DatabaseError


def firing(fp: str = "fp1", *, at: float = 100.0, **labels: str) -> Alert:
    """A firing report of one alert."""
    return Alert(
        fingerprint=fp,
        state="firing",
        labels={"alertname": "EndpointDown", "severity": "critical", **labels},
        annotations={"summary": "down"},
        value=0.0,
        at=at,
        fired_at=at,
    )


def resolved(fp: str = "fp1", *, at: float = 200.0) -> Alert:
    """A resolved report of one alert."""
    return Alert(
        fingerprint=fp,
        state="resolved",
        labels={"alertname": "EndpointDown"},
        annotations={},
        value=0.0,
        at=at,
        resolved_at=at,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IncidentStore]:
    """An open store on a fresh file."""
    s = IncidentStore(tmp_path / "aiwatch.db")
    await s.open()
    yield s
    await s.close()


async def test_lifecycle_is_persisted_and_survives_reopen(tmp_path: Path) -> None:
    """Open, acknowledge, rule-resolve, fire again: all of it is on disk after a reopen."""
    s = IncidentStore(tmp_path / "aiwatch.db", clock=lambda: 150.0)
    await s.open()
    await s.observe([firing()])
    await s.acknowledge(1, by="alice", comment="looking")
    await s.observe([resolved()])
    await s.observe([firing(at=300.0)])
    await s.close()
    again = IncidentStore(tmp_path / "aiwatch.db")
    await again.open()
    try:
        first, second = await again.get(1), await again.get(2)
        assert first.state == "resolved"
        assert first.resolved_by == "rule"
        assert first.acknowledged_by == "alice"
        assert [e.event for e in first.timeline] == ["fired", "acknowledged", "resolved"]
        assert second.state == "firing"
        assert second.previous_id == 1
        assert again.counts == {"firing": 1, "acknowledged": 0}
    finally:
        await again.close()


async def test_listeners_hear_every_committed_change_in_order(store: IncidentStore) -> None:
    """Listeners get the API document and the event name after each commit, in commit order."""
    heard: list[tuple[int, str, str]] = []

    async def listener(incident: dict[str, Any], event: str) -> None:
        await asyncio.sleep(0)
        heard.append((incident["id"], event, incident["state"]))

    store.add_listener(listener)
    await store.observe([firing("a"), firing("b")])
    await asyncio.gather(store.acknowledge(1, by="x"), store.resolve(2, by="y", comment="fixed"))
    assert heard[:2] == [(1, "fired", "firing"), (2, "fired", "firing")]
    assert sorted(heard[2:]) == [(1, "acknowledged", "acknowledged"), (2, "resolved", "resolved")]


async def test_hook_runs_in_the_same_transaction(store: IncidentStore) -> None:
    """A hook's write commits with the change; a failing hook rolls the change back."""
    await store.write(lambda conn: conn.execute("CREATE TABLE seen (id INTEGER, event TEXT)"))
    fail = {"now": False}

    def hook(conn: sqlite3.Connection, incident: dict[str, Any], event: str) -> None:
        conn.execute("INSERT INTO seen VALUES (?, ?)", (incident["id"], event))
        if fail["now"]:
            raise RuntimeError("hook refused")

    store.add_hook(hook)
    await store.observe([firing()])
    fail["now"] = True
    with pytest.raises(RuntimeError, match="hook refused"):
        await store.acknowledge(1, by="alice")
    seen = await store.read(lambda conn: conn.execute("SELECT * FROM seen").fetchall())
    assert seen == [(1, "fired")]
    assert (await store.get(1)).state == "firing"


async def test_other_components_add_their_tables_through_migrations(tmp_path: Path) -> None:
    """A migration set added before open is applied to the same file, once."""
    extra = Migrations("test.extra")
    runs: list[str] = []

    @extra()
    def m001_extra(db: sqlite3.Connection) -> None:
        runs.append("m001")
        db.execute("CREATE TABLE extra (x INTEGER)")

    for _ in range(2):
        s = IncidentStore(tmp_path / "aiwatch.db")
        s.add_migrations(extra)
        await s.open()
        await s.write(lambda conn: conn.execute("INSERT INTO extra VALUES (1)"))
        await s.close()
    assert runs == ["m001"]
    check = sqlite3.connect(tmp_path / "aiwatch.db")
    assert check.execute("SELECT count(*) FROM extra").fetchone() == (2,)
    check.close()


async def test_readers_are_not_blocked_by_a_long_write(store: IncidentStore) -> None:
    """While the writer holds a transaction, reads still answer (WAL, own connections)."""
    await store.observe([firing()])
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE incidents SET annotations = '{}'")
        loop.call_soon_threadsafe(started.set)
        time.sleep(0.5)

    writing = asyncio.create_task(store.write(slow))
    await started.wait()
    t0 = time.perf_counter()
    found = await store.find(Query())
    assert time.perf_counter() - t0 < 0.3
    assert [i.id for i in found] == [1]
    assert found[0].annotations == {"summary": "down"}  # the committed snapshot
    await writing


async def test_unknown_ids_and_illegal_moves(store: IncidentStore) -> None:
    """Unknown ids raise NotFound; a second acknowledgement is an illegal transition."""
    with pytest.raises(NotFound):
        await store.get(5)
    with pytest.raises(NotFound):
        await store.acknowledge(5, by="a")
    await store.observe([firing()])
    await store.acknowledge(1, by="a")
    with pytest.raises(IllegalTransition):
        await store.acknowledge(1, by="b")


async def test_find_filters_and_pages_newest_first(store: IncidentStore) -> None:
    """State, severity, matchers, limit and before select a page, newest first."""
    await store.observe([firing("a", target="x"), firing("b", target="y", severity="warning")])
    await store.observe([firing("c", target="x")])
    await store.acknowledge(3, by="a")
    assert [i.id for i in await store.find(Query())] == [3, 2, 1]
    assert [i.id for i in await store.find(Query(states=("firing",)))] == [2, 1]
    assert [i.id for i in await store.find(Query(severities=("warning",)))] == [2]
    match = (parse_matcher('target="x"'),)
    assert [i.id for i in await store.find(Query(matchers=match))] == [3, 1]
    assert [i.id for i in await store.find(Query(limit=1, before=3))] == [2]


async def test_a_new_silence_flags_open_matching_incidents(store: IncidentStore) -> None:
    """Creating an active silence marks matching open incidents silenced, with an event."""
    heard: list[tuple[int, str]] = []

    async def listener(incident: dict[str, Any], event: str) -> None:
        heard.append((incident["id"], event))

    store.add_listener(listener)
    await store.observe([firing("a", target="x"), firing("b", target="y")])
    now = time.time()
    silence = Silence(
        matchers=(parse_matcher('target="x"'),),
        starts_at=now - 1,
        ends_at=now + 3600,
        created_by="alice",
        comment="maintenance",
    )
    stored = await store.add_silence(silence)
    assert (await store.get(1)).silenced
    assert not (await store.get(2)).silenced
    assert (1, "silenced") in heard
    await store.observe([firing("d", target="x")])
    assert (await store.get(3)).silenced
    expired = await store.expire_silence(stored.id)
    assert expired.state(time.time() + 0.001) == "expired"


async def test_corrupt_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A file that is not a database gives DatabaseError with its path."""
    path = tmp_path / "aiwatch.db"
    path.write_bytes(b"this is not sqlite" * 1000)
    s = IncidentStore(path)
    with pytest.raises(DatabaseError, match=str(path)):
        await s.open()
