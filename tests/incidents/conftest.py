"""Fixtures for the incident tests: the daemon's app on a real port, and ``aiwatch run``."""

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.app.keys import READY
from aiwatch.config import load_config
from aiwatch.runtime import ConfigState, Options
from tests.daemons import Daemon

PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret"}
"""Users of the auth tests: alice is an admin, bob only reads."""


DOWN = {"alertname": "EndpointDown", "severity": "critical", "target": "captions-primary"}
"""The labels of the alert most incident tests push."""


def iso(delta: float = 0.0) -> str:
    """Now plus ``delta`` seconds as Alertmanager's RFC 3339 UTC timestamp (``…Z``)."""
    moment = datetime.now(UTC) + timedelta(seconds=delta)
    return moment.isoformat().replace("+00:00", "Z")


async def post_down(served: "Served", **kw: Any) -> None:
    """Push the ``DOWN`` alert (with ``startsAt``/``endsAt`` etc. from ``kw``); expect a 200."""
    status, body = await served.call("POST", "/api/v2/alerts", json=[{"labels": DOWN, **kw}])
    assert status == 200, body


def basic(user: str, password: str | None = None) -> dict[str, str]:
    """An Authorization header for ``user`` (its known password unless given)."""
    secret = PASSWORDS.get(user, "") if password is None else password
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def write_config(tmp: Path, *, admin_users: tuple[str, ...] = ()) -> Path:
    """A minimal daemon config (no targets, no rules)."""
    path = tmp / "aiwatch.yml"
    admins = ", ".join(admin_users)
    web_section = f"web:\n  admin_users: [{admins}]\n" if admin_users else ""
    path.write_text(f"global:\n  evaluation_interval: 1s\ntargets: []\n{web_section}")
    return path


def write_web_config(tmp: Path, *, tls: tuple[Path, Path] | None = None) -> Path:
    """An exporter-toolkit web config with alice and bob (bcrypt cost 4 keeps tests fast)."""
    lines = ["basic_auth_users:"]
    for user, password in PASSWORDS.items():
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        lines.append(f"  {user}: {hashed}")
    if tls is not None:
        lines += ["tls_server_config:", f"  cert_file: {tls[0]}", f"  key_file: {tls[1]}"]
    path = tmp / "web.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Served:
    """The daemon's application served on 127.0.0.1 with a client session."""

    def __init__(self, app: web.Application, server: TestServer, url: str) -> None:
        self.app, self.server, self.url = app, server, url
        self.session = aiohttp.ClientSession()

    async def call(
        self, method: str, path: str, *, json: Any = None, data: Any = None, **kw: Any
    ) -> tuple[int, Any]:
        """Request ``path``; returns the status and the JSON body (text when not JSON)."""
        async with self.session.request(
            method, self.url + path, json=json, data=data, **kw
        ) as resp:
            text = await resp.text()
            try:
                return resp.status, await resp.json(content_type=None)
            except ValueError:
                return resp.status, text

    async def close(self) -> None:
        """Stop the client and the server (the store closes with the app)."""
        await self.session.close()
        await self.server.close()


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(tmp_path: Path, aiohttp_server: Callable[..., Any]) -> AsyncIterator[Serve]:
    """Start the full daemon app (every component) on a free loopback port."""
    started: list[Served] = []

    async def start(*, admin_users: tuple[str, ...] = (), web_config: Path | None = None) -> Served:
        config = load_config(str(write_config(tmp_path, admin_users=admin_users)))
        options = Options(
            config_file=config.path,
            listen_address="127.0.0.1:0",
            web_config_file=str(web_config) if web_config else None,
            storage_path=str(tmp_path / "data"),
        )
        app = make_app(ConfigState(config, options), components=COMPONENTS)
        server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
        app[READY][0] = True
        served = Served(app, server, f"http://127.0.0.1:{server.port}")
        started.append(served)
        return served

    yield start
    for served in started:
        await served.close()


async def start_daemon(tmp: Path, *extra: str, port: int | None = None) -> Daemon:
    """``aiwatch run`` with ``tmp/aiwatch.yml`` (written if missing) and ``tmp/data``, its
    output appended to ``tmp/aiwatch.log``; returns once ``/-/ready`` answers."""
    if not (tmp / "aiwatch.yml").exists():
        write_config(tmp)
    return await Daemon.start(
        tmp / "aiwatch.yml", tmp / "data", *extra, log=tmp / "aiwatch.log", port=port,
        interval=0.05,
    )  # fmt: skip


async def start_https_daemon(tmp: Path, web_config: Path, ca: Path) -> Daemon:
    """The same with a TLS web config; returns once ``/-/healthy`` answers over HTTPS."""
    import ssl

    return await Daemon.start(
        tmp / "aiwatch.yml", tmp / "data", "--web.config.file", str(web_config),
        log=tmp / "aiwatch.log", tls=ssl.create_default_context(cafile=str(ca)),
        ready_path="/-/healthy", interval=0.05,
    )  # fmt: skip
