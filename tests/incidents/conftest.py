"""Fixtures for the incident tests: the daemon's app on a real port, and ``aiwatch run``."""

import asyncio
import base64
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp import web

from aiwatch.components import COMPONENTS
from aiwatch.config import load_config
from aiwatch.runtime import ConfigState, Options
from aiwatch.web.app import READY, make_app

PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret"}
"""Users of the auth tests: alice is an admin, bob only reads."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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

    def __init__(self, app: web.Application, runner: web.AppRunner, url: str) -> None:
        self.app, self.runner, self.url = app, runner, url
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
        await self.runner.cleanup()


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
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
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        app[READY][0] = True
        port = runner.addresses[0][1]
        served = Served(app, runner, f"http://127.0.0.1:{port}")
        started.append(served)
        return served

    yield start
    for served in started:
        await served.close()


class Daemon:
    """A real ``aiwatch run`` subprocess on a free port."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    @classmethod
    async def start(cls, tmp: Path, *extra: str, port: int | None = None) -> "Daemon":
        """Start it (config and storage under ``tmp``) and wait until ``/-/ready`` answers."""
        config = tmp / "aiwatch.yml"
        if not config.exists():
            write_config(tmp)
        port = port or free_port()
        log = tmp / "aiwatch.log"
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "aiwatch", "run",
                "--config.file", str(config),
                "--web.listen-address", f"127.0.0.1:{port}",
                "--storage.path", str(tmp / "data"),
                *extra,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        daemon = cls(proc, f"http://127.0.0.1:{port}", log)
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if proc.returncode is not None:
                    raise AssertionError(f"aiwatch exited:\n{log.read_text()}")
                try:
                    async with session.get(daemon.url + "/-/ready") as resp:
                        if resp.status == 200:
                            return daemon
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"aiwatch never became ready:\n{log.read_text()}")

    @classmethod
    async def start_https(cls, tmp: Path, web_config: Path, ca: Path) -> "Daemon":
        """Start it with a TLS web config and wait until ``/-/healthy`` answers over HTTPS."""
        import ssl

        port = free_port()
        log = tmp / "aiwatch.log"
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "aiwatch", "run",
                "--config.file", str(tmp / "aiwatch.yml"),
                "--web.listen-address", f"127.0.0.1:{port}",
                "--storage.path", str(tmp / "data"),
                "--web.config.file", str(web_config),
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        daemon = cls(proc, f"http://127.0.0.1:{port}", log)
        context = ssl.create_default_context(cafile=str(ca))
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if proc.returncode is not None:
                    raise AssertionError(f"aiwatch exited:\n{log.read_text()}")
                try:
                    url = f"https://127.0.0.1:{port}/-/healthy"
                    async with session.get(url, ssl=context) as resp:
                        if resp.status == 200:
                            return daemon
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"aiwatch never became ready:\n{log.read_text()}")

    async def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM, and wait for the exit."""
        if self.proc.returncode is None:
            self.proc.terminate()
        await asyncio.wait_for(self.proc.wait(), timeout=15)
