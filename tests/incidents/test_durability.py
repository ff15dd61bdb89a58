"""SIGKILL at random moments: the database stays intact and no acknowledged 2xx is lost."""

import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp

from tests.daemons import free_port

from .conftest import start_daemon, write_config

ROUNDS = 20


async def _load(url: str, round_no: int, acked: dict[int, str]) -> None:
    """Open incidents and acknowledge them as fast as possible until the daemon dies."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        serial = 0

        async def opener() -> None:
            nonlocal serial
            while True:
                serial += 1
                alerts = [
                    {"labels": {"alertname": "Load", "round": str(round_no), "n": f"{serial}-{i}"}}
                    for i in range(5)
                ]
                async with session.post(url + "/api/v2/alerts", json=alerts) as resp:
                    await resp.read()

        async def acker(name: str) -> None:
            while True:
                async with session.get(url + "/api/v1/incidents?state=firing&limit=20") as resp:
                    firing = (await resp.json())["data"]
                for incident in firing:
                    path = f"/api/v1/incidents/{incident['id']}/acknowledge"
                    async with session.post(url + path, json={"by": name}) as resp:
                        await resp.read()
                        if resp.status == 200:
                            acked[incident["id"]] = name
                await asyncio.sleep(0)

        tasks = [opener(), opener(), acker("alice"), acker("bob")]
        try:
            await asyncio.gather(*tasks)
        except (TimeoutError, aiohttp.ClientError, KeyError, ValueError):
            return


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


class Zygote:
    """A process that imported aiwatch once and forks real ``aiwatch run`` children."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, log: Path) -> "Zygote":
        """Start it (its children log to ``log``)."""
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(Path(__file__).with_name("zygote.py")),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=out,
            )
        return cls(proc)

    async def run(self, tmp: Path) -> tuple[int, str]:
        """Fork ``aiwatch run`` on a free port; returns its pid and URL once it is ready."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        port = free_port()
        args = [
            "run", "--config.file", str(tmp / "aiwatch.yml"),
            "--web.listen-address", f"127.0.0.1:{port}", "--storage.path", str(tmp / "data"),
        ]  # fmt: skip
        self.proc.stdin.write((json.dumps(args) + "\n").encode())
        await self.proc.stdin.drain()
        pid = int(await self.proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(400):
                try:
                    async with session.get(url + "/-/ready") as resp:
                        if resp.status == 200:
                            return pid, url
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        raise AssertionError("aiwatch run never became ready")

    async def close(self) -> None:
        """Stop forking."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await self.proc.wait()


async def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    for _ in range(500):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"aiwatch {pid} survived SIGKILL")


async def test_sigkill_loses_no_acknowledgement_and_never_corrupts(tmp_path: Path) -> None:
    """20 SIGKILLs of ``aiwatch run`` at random moments while incidents open and get
    acknowledged: the file passes ``integrity_check`` each time and, after the last restart,
    every acknowledgement answered 200 is still there, by the same person.
    """
    write_config(tmp_path)
    db = tmp_path / "data" / "aiwatch.db"
    rng = random.Random(5)
    acked: dict[int, str] = {}
    zygote = await Zygote.start(tmp_path / "aiwatch.log")
    try:
        for round_no in range(ROUNDS):
            pid, url = await zygote.run(tmp_path)
            load = asyncio.create_task(_load(url, round_no, acked))
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            await _kill(pid)
            await load
            assert _integrity(db) == "ok"
    finally:
        await zygote.close()
    assert len(acked) > ROUNDS, "the load never got acknowledgements through"
    daemon = await start_daemon(tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            for incident_id, who in acked.items():
                async with session.get(f"{daemon.url}/api/v1/incidents/{incident_id}") as resp:
                    doc = (await resp.json())["data"]
                assert doc["state"] == "acknowledged", doc
                assert doc["acknowledged_by"] == who
        assert _integrity(db) == "ok"
    finally:
        await daemon.stop(kill=False)
    assert "Traceback" not in (tmp_path / "aiwatch.log").read_text()
