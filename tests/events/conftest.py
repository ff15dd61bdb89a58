"""Fixtures for the live-events and status tests: the daemon's app on a real loopback port."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.app.keys import PROBE_SCHEDULER, READY
from aiwatch.config import load_config
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.scheduler import failed_result
from aiwatch.runtime import ConfigState, Options
from tests.probes.conftest import mock_ai

CONFIG = """\
global:
  evaluation_interval: 1s
targets:
  - name: chat-primary
    kind: openai_chat
    model: m
    feature: captions
    url: http://127.0.0.1:9/v1
    interval: 24h
    stream: true
    slo: {latency_p95: 2s, ttft_p95: 800ms, window: 15m}
  - name: embed
    kind: openai_embeddings
    model: e
    feature: search
    url: http://127.0.0.1:9/v1
    interval: 24h
"""
"""Two targets that are never probed during a test (a day's interval): tests hand results in."""


@dataclass
class SseEvent:
    """One parsed server-sent event."""

    event: str = "message"
    id: str | None = None
    data: list[str] = field(default_factory=list)

    def json(self) -> Any:
        """The data lines as JSON."""
        return json.loads("\n".join(self.data))


async def read_event(resp: aiohttp.ClientResponse) -> SseEvent | None:
    """The next event of an SSE response (comments and retry lines skipped); None at the end."""
    current = SseEvent()
    seen = False
    while True:
        raw = await resp.content.readline()
        if not raw:
            return None
        line = raw.decode().rstrip("\r\n")
        if not line:
            if seen:
                return current
            continue
        if line.startswith(":") or line.startswith("retry:"):
            continue
        name, _, value = line.partition(": ")
        seen = True
        if name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "data":
            current.data.append(value)


def result(target: str, *, success: bool, duration: float = 0.5, at: float = 0.0) -> ProbeResult:
    """A probe result of ``target`` (a failed one's fields, with ``success`` and timings set)."""
    from dataclasses import replace

    from aiwatch.config.model import Target

    stub = Target(name=target, kind="http", url="http://127.0.0.1:9", interval=60, timeout=5)
    failed = failed_result(
        stub, error_type="server_error", error="HTTP 500", started=at, duration=duration
    )
    if not success:
        return failed
    return replace(failed, success=True, error_type=None, error=None, status_code=200)


class Served:
    """The daemon's application served on 127.0.0.1, with a client session."""

    def __init__(self, app: web.Application, url: str) -> None:
        self.app, self.url = app, url
        self.session = aiohttp.ClientSession()

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """Request ``path``; the status and the JSON body (text when not JSON)."""
        async with self.session.request(method, self.url + path, **kw) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    def probed(self, res: ProbeResult) -> None:
        """Hand ``res`` to the scheduler's listeners, as a scheduled probe's end does."""
        for listener in self.app[PROBE_SCHEDULER].listeners:
            listener(res)


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(tmp_path: Path, aiohttp_server: Callable[..., Any]) -> AsyncIterator[Serve]:
    """Start the full daemon app on a free loopback port with ``CONFIG`` (plus ``extra``)."""
    started: list[tuple[Served, TestServer]] = []

    async def start(extra: str = "", *, web_config: Path | None = None) -> Served:
        path = tmp_path / "aiwatch.yml"
        path.write_text(CONFIG + extra)
        config = load_config(str(path))
        options = Options(
            config_file=config.path,
            listen_address="127.0.0.1:0",
            web_config_file=str(web_config) if web_config else None,
            storage_path=str(tmp_path / "data"),
        )
        app = make_app(ConfigState(config, options), components=COMPONENTS)
        server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
        app[READY][0] = True
        served = Served(app, f"http://127.0.0.1:{server.port}")
        started.append((served, server))
        return served

    yield start
    for served, server in started:
        await served.session.close()
        await server.close()


__all__ = ["mock_ai"]
