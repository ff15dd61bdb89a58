"""Fixtures for the page tests: the daemon's app on a real port, with or without users."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.app.keys import READY
from aiwatch.config import load_config
from aiwatch.runtime import ConfigState, Options
from tests.incidents.conftest import DOWN, basic, write_web_config

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


class Site:
    """The daemon's application served on 127.0.0.1, and a client that keeps no cookies."""

    def __init__(self, app: web.Application, server: TestServer, url: str) -> None:
        self.app, self.server, self.url = app, server, url
        self.session = aiohttp.ClientSession()

    async def get(self, path: str, user: str | None = None) -> tuple[int, str]:
        """GET ``path`` (as ``user``); the status and the text."""
        headers = basic(user) if user else {}
        async with self.session.get(self.url + path, headers=headers) as resp:
            return resp.status, await resp.text()

    async def post(
        self, path: str, form: dict[str, str], user: str | None = None, **kw: Any
    ) -> tuple[int, str, str]:
        """POST a form (as ``user``) without following redirects: status, text, Location."""
        headers = {**(basic(user) if user else {}), **kw.pop("headers", {})}
        async with self.session.post(
            self.url + path, data=form, headers=headers, allow_redirects=False, **kw
        ) as resp:
            return resp.status, await resp.text(), resp.headers.get("Location", "")

    async def push(self, labels: dict[str, str], user: str | None = None) -> None:
        """Push one firing alert through the Alertmanager API (opens an incident)."""
        headers = basic(user) if user else {}
        summary = f"{labels.get('target', 'something')} is down"
        alert = [{"labels": labels, "annotations": {"summary": summary}}]
        async with self.session.post(
            self.url + "/api/v2/alerts", json=alert, headers=headers
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def close(self) -> None:
        """Stop the client and the server."""
        await self.session.close()
        await self.server.close()


Start = Callable[..., Awaitable[Site]]


def write_config(tmp: Path, extra: str = "") -> Path:
    """A daemon config without targets (alerts are pushed), plus ``extra`` YAML."""
    path = tmp / "aiwatch.yml"
    targets = "" if "\ntargets:" in "\n" + extra else "targets: []\n"
    path.write_text(f"global:\n  evaluation_interval: 1s\n{targets}{extra}")
    return path


@pytest.fixture
async def site(tmp_path: Path, aiohttp_server: Callable[..., Any]) -> AsyncIterator[Start]:
    """Start the full daemon app; ``users=True`` adds alice (admin) and bob (viewer)."""
    started: list[Site] = []

    async def start(*, users: bool = False, extra: str = "", external_url: str = "") -> Site:
        web_section = "web:\n  admin_users: [alice]\n" if users else ""
        config = load_config(str(write_config(tmp_path, web_section + extra)))
        options = Options(
            config_file=config.path,
            listen_address="127.0.0.1:0",
            web_config_file=str(write_web_config(tmp_path)) if users else None,
            storage_path=str(tmp_path / "data"),
            external_url=external_url,
        )
        app = make_app(ConfigState(config, options), components=COMPONENTS)
        server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
        app[READY][0] = True
        served = Site(app, server, f"http://127.0.0.1:{server.port}")
        started.append(served)
        return served

    yield start
    for served in started:
        await served.close()


__all__ = ["DOWN", "Site", "Start", "csrf_of", "site"]
