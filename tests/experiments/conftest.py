"""Fixtures for the experiments tests: the incident store (real SQLite file) with our tables."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from aiwatch.app.build import make_app
from aiwatch.config import Config
from aiwatch.experiments import storage
from aiwatch.experiments import web as experiments_web
from aiwatch.incidents import web as incidents_web
from aiwatch.incidents.store import IncidentStore
from aiwatch.probes import web as probes_web
from aiwatch.runtime import ConfigState, Options

OpenStore = Callable[[], Awaitable[IncidentStore]]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's SQLite file lives."""
    return tmp_path / "aiwatch.db"


@pytest.fixture
async def open_store(db_path: Path) -> AsyncIterator[OpenStore]:
    """Open stores on the same file (a restart is closing one and opening another)."""
    opened: list[IncidentStore] = []

    async def make() -> IncidentStore:
        store = IncidentStore(db_path)
        store.add_migrations(storage.MIGRATIONS)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


def daemon_app(
    config: Config, storage_path: Path, *, web_config: Path | None = None
) -> web.Application:
    """The daemon's app with what experiments need: probes, the incident store, experiments."""
    options = Options(
        config_file=config.path,
        storage_path=str(storage_path),
        web_config_file=str(web_config) if web_config else None,
    )
    return make_app(
        ConfigState(config, options),
        components=(probes_web.setup, incidents_web.setup, experiments_web.setup),
    )
