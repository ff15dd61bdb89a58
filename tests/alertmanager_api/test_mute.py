"""A silence made with amtool mutes aiwatch's own notifications and names their routes."""

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.daemons import DaemonProcess
from tests.notify.conftest import Receiver

from .conftest import AMTOOL


async def _amtool(url: str, *args: str) -> str:
    """``amtool`` without blocking the loop the receiver runs on; its stdout (exit 0)."""
    proc = await asyncio.create_subprocess_exec(
        AMTOOL, f"--alertmanager.url={url}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def _until(check: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def _drained(daemon: DaemonProcess, session: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + 30.0
    while await daemon.metric(session, "aiwatch_notification_queue_length") != 0:
        assert time.monotonic() < deadline, daemon.log()
        await asyncio.sleep(0.05)


async def test_amtool_silence_mutes_notifications(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """``amtool silence add alertname=Muted``: the Muted alert is recorded (silenced) but its
    route's Apprise receiver never hears of it, while the Loud alert posted with it arrives.
    ``alert query -s`` shows Muted suppressed by that silence, sent to the route ``oncall``."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{path:.*}", receiver.handle)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    receiver.port = server.port
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "global:\n  evaluation_interval: 1s\ntargets: []\nnotifications:\n  routes:\n"
        f'    - name: oncall\n      apprise: ["{receiver.url("hook")}"]\n'
    )
    daemon = DaemonProcess(config, tmp_path / "data")
    try:
        async with aiohttp.ClientSession() as session:
            await daemon.ready(session)
            added = await _amtool(
                daemon.url, "silence", "add", "alertname=Muted", "-c", "maintenance", "-d", "1h"
            )
            sid = added.strip()
            await daemon.post_alerts(
                session,
                [{"labels": {"alertname": n, "severity": "critical"}} for n in ("Muted", "Loud")],
            )
            assert await _until(lambda: bool(receiver.received), 20.0), daemon.log()
            await _drained(daemon, session)
            titles = receiver.titles()
            assert any("Loud" in t for t in titles), titles
            assert not any("Muted" in t for t in titles), titles

            muted = json.loads(await _amtool(daemon.url, "alert", "query", "-s", "-o", "json"))
            assert [a["labels"]["alertname"] for a in muted] == ["Muted"]
            assert muted[0]["status"]["silencedBy"] == [sid]
            assert muted[0]["receivers"] == [{"name": "oncall"}]
            async with session.get(
                daemon.url + "/api/v1/incidents?matcher=alertname%3D%22Muted%22"
            ) as resp:
                (incident,) = (await resp.json())["data"]
            assert incident["silenced"] is True
            receivers = await _amtool(daemon.url, "config", "routes")
            assert "oncall" in receivers
    finally:
        daemon.kill()
