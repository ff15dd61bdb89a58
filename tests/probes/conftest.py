"""Fixtures for the scheduling and exposition tests: mock-ai on a real port, configs, daemons."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.app.build import make_app
from aiwatch.config import Config, load_config
from aiwatch.mockai import MOCK, make_mock_app
from aiwatch.probes import web as probes_web
from aiwatch.runtime import ConfigState, Options
from tests.cli import run_argv
from tests.daemons import free_port, spawn, stop_async, wait_ready_async

MakeConfig = Callable[..., Config]


@pytest.fixture
async def mock_ai(aiohttp_server: Callable[..., Any]) -> TestServer:
    """The mock AI endpoint on 127.0.0.1, port 0 (its base URL is ``mock_url(server)``)."""
    server: TestServer = await aiohttp_server(make_mock_app(seed=1), host="127.0.0.1", port=0)
    return server


def mock_url(server: TestServer) -> str:
    """The OpenAI-style base URL (``…/v1``) of a mock server."""
    return f"http://127.0.0.1:{server.port}/v1"


def requests_by_model(server: TestServer) -> dict[str, int]:
    """How many requests the in-process mock received per model name."""
    stats = server.app[MOCK].stats
    return {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("model:")}


def write_config(path: Path, document: dict[str, Any]) -> Path:
    """Write a config document as YAML and return its path."""
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """Load a config built from a list of target documents (written to ``tmp_path``)."""

    def make(targets: list[dict[str, Any]], *, name: str = "aiwatch.yml") -> Config:
        return load_config(str(write_config(tmp_path / name, {"targets": targets})))

    return make


async def start_app(
    config: Config, *, shard: tuple[int, int] = (0, 1)
) -> tuple[web.AppRunner, str]:
    """The daemon's app with the probes component, served on 127.0.0.1, port 0."""
    state = ConfigState(config, Options(config_file=config.path, shard=shard))
    app = make_app(state, components=(probes_web.setup,))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


class Daemon:
    """A real ``aiwatch run`` subprocess, driven from async tests (the mock runs in-process)."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.proc, self.url, self.log_path = proc, url, log

    @classmethod
    async def start(cls, config: Path, tmp: Path, *extra: str) -> "Daemon":
        """Start ``aiwatch run`` and wait until ``/-/ready`` answers."""
        port = free_port()
        log = tmp / f"aiwatch-{port}.log"
        argv = run_argv(config, f"127.0.0.1:{port}", tmp / f"data-{port}", *extra)
        proc = await spawn(argv, log)
        daemon = cls(proc, f"http://127.0.0.1:{port}", log)
        await daemon.wait_ready()
        return daemon

    async def wait_ready(self, seconds: float = 20.0) -> None:
        """Poll ``/-/ready``; fail with the daemon's log if it exits or never gets ready."""
        await wait_ready_async(
            self.url,
            exited=lambda: self.proc.returncode,
            log=self.log_path.read_text,
            within=seconds,
        )

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` from the daemon."""
        async with aiohttp.ClientSession() as session, session.get(self.url + path) as resp:
            return resp.status, await resp.read()

    async def stop(self) -> None:
        """Terminate the daemon and wait for it (killing it after 15 s)."""
        await stop_async(self.proc, grace=15.0)


@pytest.fixture
async def daemons(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start real daemons for a test; all are stopped afterwards."""
    started: list[Daemon] = []

    async def start(config: Path, *extra: str) -> Daemon:
        daemon = await Daemon.start(config, tmp_path, *extra)
        started.append(daemon)
        return daemon

    yield start
    await asyncio.gather(*(d.stop() for d in started))
