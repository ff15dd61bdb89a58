"""A database file that cannot be used stops ``aiwatch run`` with one clear line and exit 1."""

import asyncio
from pathlib import Path

import pytest

from aiwatch.incidents.lifecycle import Alert
from aiwatch.incidents.store import IncidentStore
from tests.cli import run_argv
from tests.daemons import free_port

from .conftest import write_config


async def _run(tmp: Path) -> tuple[int, str]:
    argv = run_argv(write_config(tmp), f"127.0.0.1:{free_port()}", tmp / "data")
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


@pytest.mark.parametrize("damage", ["garbage", "directory", "truncated"])
async def test_unusable_database_exits_1_naming_the_file(tmp_path: Path, damage: str) -> None:
    """Garbage, a directory in its place, or a truncated file: exit 1, the path in the log."""
    db = tmp_path / "data" / "aiwatch.db"
    db.parent.mkdir()
    if damage == "garbage":
        db.write_bytes(b"not a database at all\n" * 500)
    elif damage == "directory":
        db.mkdir()
    else:
        store = IncidentStore(db)  # a real database with incidents, then cut short
        await store.open()
        alerts = [
            Alert(fingerprint=str(i), state="firing", labels={"alertname": f"A{i}"},
                  annotations={"summary": "x" * 500}, value=1.0, at=1.0)
            for i in range(200)
        ]  # fmt: skip
        await store.observe(alerts)
        await store.close()
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    code, log = await _run(tmp_path)
    assert code == 1, log
    assert str(db) in log
    assert "Traceback" not in log
