"""Fixtures for notification tests: a real JSON receiver, a hand-driven clock, a store."""

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.notify import outbox
from aiwatch.storage.sqlite import Database


class Clock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Receiver:
    """A real HTTP endpoint that Apprise's ``json://`` posts to; it can fail or stall."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_next = 0
        self.delay = 0.0
        self.port = 0
        self.arrived = asyncio.Event()

    def url(self, path: str = "hook", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"json://127.0.0.1:{self.port}/{path}" + (f"?{query}" if query else "")

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # the sender gave up: nothing arrived
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500, text="down")
        payload = json.loads(await request.read())
        payload["path"] = request.path
        self.received.append(payload)
        self.arrived.set()
        return web.Response(text="ok")

    def titles(self, path: str | None = None) -> list[str]:
        return [p["title"] for p in self.received if path is None or p["path"] == "/" + path]


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Any]) -> Receiver:
    """A started receiver on a free loopback port."""
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{path:.*}", rec.handle)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    rec.port = server.port
    return rec


@pytest.fixture
def clock() -> Clock:
    """A hand-driven clock."""
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    """The incident store's database (one writer thread) on a fresh file, outbox migrated."""
    db = Database(tmp_path / "aiwatch.db")
    db.open([outbox.MIGRATIONS])
    yield db
    db.close()
