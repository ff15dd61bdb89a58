"""Fixtures for the scheduling and exposition tests: mock-ai on a real port, configs, daemons."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestServer

from aiwatch.app.build import make_app
from aiwatch.config import Config, load_config
from aiwatch.mockai import MOCK, make_mock_app
from aiwatch.probes import web as probes_web
from aiwatch.runtime import ConfigState, Options
from tests.daemons import Daemon, free_port

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
    aiohttp_server: Callable[..., Any], config: Config, *, shard: tuple[int, int] = (0, 1)
) -> tuple[TestServer, str]:
    """The daemon's app with the probes component, served on 127.0.0.1, port 0."""
    state = ConfigState(config, Options(config_file=config.path, shard=shard))
    app = make_app(state, components=(probes_web.setup,))
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return server, f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def daemons(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start real daemons for a test; all are stopped afterwards."""
    started: list[Daemon] = []

    async def start(config: Path, *extra: str) -> Daemon:
        port = free_port()
        daemon = await Daemon.start(
            config,
            tmp_path / f"data-{port}",
            *extra,
            log=tmp_path / f"aiwatch-{port}.log",
            port=port,
        )
        started.append(daemon)
        return daemon

    yield start
    await asyncio.gather(*(d.stop() for d in started))
