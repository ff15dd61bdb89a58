"""A real ``aiwatch run``: live probe events, and the uptime counts written at shutdown."""

import asyncio
import sqlite3
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from tests.daemons import Daemon
from tests.probes.conftest import mock_url, write_config

from .conftest import read_event


async def test_probe_events_flow_and_shutdown_writes_the_last_uptime_counts(
    mock_ai: TestServer, tmp_path: Path
) -> None:
    """A daemon probing mock-ai streams its probe results live; SIGTERM ends the open stream
    and the daemon, and the hourly rows then hold every probe /metrics counted, all passed."""
    config = write_config(
        tmp_path / "aiwatch.yml",
        {
            "targets": [
                {"name": "chat", "kind": "openai_chat", "url": mock_url(mock_ai),
                 "model": "mock-gpt", "interval": "200ms", "feature": "captions"},
            ],
            "web": {"status_page": {"enabled": True, "public": True}},
        },
    )  # fmt: skip
    daemon = await Daemon.start(config, tmp_path / "data", log=tmp_path / "aiwatch.log")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(daemon.url + "/api/v1/events?probes=true&target=chat") as stream,
        ):
            seen = []
            async with asyncio.timeout(30):  # bounds for a loaded machine
                while len([e for e in seen if e.event == "probe"]) < 3:
                    event = await read_event(stream)
                    assert event is not None
                    seen.append(event)
            assert all(e.json()["success"] for e in seen if e.event == "probe")
            _, targets = await daemon.request("GET", "/api/v1/targets")
            assert targets["data"]["targets"][0]["state"] == "up"
            _, metrics = await daemon.get("/metrics")
            before = sum(
                int(float(line.rsplit(" ", 1)[1]))
                for line in metrics.decode().splitlines()
                if line.startswith("aiwatch_probes_total{") and 'result="success"' in line
            )
            assert await daemon.stop(grace=30.0, kill=False) == 0
            async with asyncio.timeout(15):
                while await read_event(stream) is not None:
                    pass
    finally:
        await daemon.kill()
    conn = sqlite3.connect(tmp_path / "data" / "aiwatch.db")
    try:
        probes, successes = conn.execute(
            "SELECT sum(probes), sum(successes) FROM uptime_rollups WHERE target = 'chat'"
        ).fetchone()
    finally:
        conn.close()
    assert probes >= before >= 3
    assert successes == probes
    assert "Traceback" not in daemon.log()
