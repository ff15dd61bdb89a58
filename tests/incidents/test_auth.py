"""Security of the HTTP API: basic auth with bcrypt, admin users, the loopback rule, TLS."""

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.app.errors import StartupError
from aiwatch.web.auth import Checker
from aiwatch.web.tls import WebConfigError, load_web_config, ssl_context_factory

from .conftest import (
    Serve,
    Served,
    basic,
    start_daemon,
    start_https_daemon,
    write_config,
    write_web_config,
)

PROMTOOL = shutil.which("promtool")


def promtool_accepts(path: Path) -> None:
    """``promtool check web-config`` says the file is valid."""
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "web-config", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def make_cert(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    cert, key = tmp / "server.crt", tmp / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_read_routes_need_valid_credentials(serve: Serve, tmp_path: Path) -> None:
    """With basic_auth_users, no or bad credentials get 401 with WWW-Authenticate: Basic."""
    web_config = write_web_config(tmp_path)
    promtool_accepts(web_config)
    served = await serve(admin_users=("alice",), web_config=web_config)
    for headers in (
        {},
        basic("alice", "wrong"),
        basic("mallory", "x"),
        {"Authorization": "Basic !!"},
    ):
        async with served.session.get(served.url + "/api/v1/incidents", headers=headers) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Basic")
            assert (await resp.json())["errorType"] == "unauthorized"
    status, _ = await served.call("GET", "/api/v1/incidents", headers=basic("bob"))
    assert status == 200
    status, _ = await served.call("GET", "/metrics")
    assert status == 401
    status, _ = await served.call("GET", "/-/healthy")
    assert status == 200


async def test_admin_routes_need_an_admin_user(serve: Serve, tmp_path: Path) -> None:
    """A valid non-admin user gets 403 on a POST; an admin in web.admin_users passes."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    alert = [{"labels": {"alertname": "X"}}]
    status, body = await served.call("POST", "/api/v2/alerts", json=alert, headers=basic("bob"))
    assert status == 403
    assert "not in web.admin_users" in body["error"]
    status, _ = await served.call("POST", "/api/v2/alerts", json=alert, headers=basic("alice"))
    assert status == 200
    status, body = await served.call(
        "POST", "/api/v1/incidents/1/acknowledge", json={}, headers=basic("alice")
    )
    assert status == 200
    assert body["data"]["acknowledged_by"] == "alice"  # ``by`` defaults to the user


async def test_changed_password_hash_is_not_served_from_the_cache(tmp_path: Path) -> None:
    """The success cache is keyed by the hash: a new hash for a user rejects the old password."""
    path = write_web_config(tmp_path)
    checker = Checker(load_web_config(str(path)))
    assert await checker.verify("alice", b"alice-secret")
    assert await checker.verify("alice", b"alice-secret")
    new_hash = bcrypt.hashpw(b"rotated", bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"basic_auth_users:\n  alice: {new_hash}\n")
    rotated = Checker(load_web_config(str(path)))
    assert not await rotated.verify("alice", b"alice-secret")
    assert await rotated.verify("alice", b"rotated")


async def test_unknown_users_are_checked_against_a_hash_of_the_same_cost(tmp_path: Path) -> None:
    """No timing oracle: an unknown user costs one bcrypt of the configured cost."""
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=6)).decode()
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  carol: {hashed}\n")
    checker = Checker(load_web_config(str(path)))
    assert not await checker.verify("nobody", b"pw")
    dummy = checker._dummy_hash()  # the property under test
    assert dummy[:7] == b"$2b$06$"


def _peer(remote: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware that makes the request come from ``remote`` (the network edge, faked)."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await handler(request.clone(remote=remote))

    return middleware


async def _served_from(aiohttp_server: Callable[..., Any], tmp_path: Path, remote: str) -> Served:
    from aiwatch.app.build import COMPONENTS, make_app
    from aiwatch.config import load_config
    from aiwatch.runtime import ConfigState, Options

    config = load_config(str(write_config(tmp_path)))
    options = Options(config_file=config.path, storage_path=str(tmp_path / "data"))
    app = make_app(ConfigState(config, options), components=COMPONENTS)
    app.middlewares.insert(1, _peer(remote))  # after the error envelope, before auth
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return Served(app, server, f"http://127.0.0.1:{server.port}")


@pytest.mark.parametrize(("remote", "allowed"), [("203.0.113.7", False), ("::1", True)])
async def test_without_web_config_admin_routes_are_loopback_only(
    tmp_path: Path, aiohttp_server: Callable[..., Any], remote: str, allowed: bool
) -> None:
    """No web config: reads are open to all; state changes only to loopback peers."""
    served = await _served_from(aiohttp_server, tmp_path, remote)
    try:
        status, _ = await served.call("GET", "/api/v1/incidents")
        assert status == 200
        status, body = await served.call(
            "POST", "/api/v2/alerts", json=[{"labels": {"alertname": "X"}}]
        )
        assert status == (200 if allowed else 403), body
    finally:
        await served.close()


async def test_tls_is_served_from_the_web_config(tmp_path: Path) -> None:
    """``aiwatch run --web.config.file`` with tls_server_config serves HTTPS (plain HTTP fails)."""
    cert, key = make_cert(tmp_path)
    web_config = write_web_config(tmp_path, tls=(cert, key))
    with web_config.open("a") as handle:
        handle.write("  min_version: TLS12\n")
    promtool_accepts(web_config)
    write_config(tmp_path, admin_users=("alice",))
    port_daemon = await start_https_daemon(tmp_path, web_config, cert)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        url = port_daemon.url.replace("http://", "https://")
        async with aiohttp.ClientSession() as session:
            async with session.get(
                url + "/api/v1/incidents", ssl=context, headers=basic("bob")
            ) as resp:
                assert resp.status == 200
            with pytest.raises(aiohttp.ClientError):
                async with session.get(port_daemon.url + "/-/healthy") as resp:
                    await resp.read()
    finally:
        await port_daemon.stop(kill=False)


BAD_WEB_CONFIGS = [
    ("basic_auth_users:\n  alice: not-a-hash\n", "basic_auth_users.alice: not a bcrypt hash"),
    ("tls_server_config:\n  cert_file: x.crt\n", "key_file is missing"),
    ("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n", "nope.crt"),
    ("tls_server_config:\n  min_version: TLS9\n", "min_version"),
    ("surprise: 1\n", "unknown field(s) surprise"),
]


@pytest.mark.parametrize(("content", "needle"), BAD_WEB_CONFIGS)
def test_invalid_web_config_is_a_startup_error(tmp_path: Path, content: str, needle: str) -> None:
    """The daemon's TLS factory refuses an invalid web config, naming the file and the key."""
    path = tmp_path / "web.yml"
    path.write_text(content)
    with pytest.raises(StartupError) as caught:
        ssl_context_factory(str(path))()
    assert needle in str(caught.value)
    assert str(path) in str(caught.value)


async def test_invalid_web_config_stops_aiwatch_run(tmp_path: Path) -> None:
    """``aiwatch run`` with an invalid web config: one clear log line and exit 1."""
    path = tmp_path / "web.yml"
    path.write_text(BAD_WEB_CONFIGS[0][0])
    write_config(tmp_path)
    with pytest.raises(AssertionError, match="aiwatch exited"):
        await start_daemon(tmp_path, "--web.config.file", str(path))
    log = (tmp_path / "aiwatch.log").read_text()
    assert BAD_WEB_CONFIGS[0][1] in log
    assert str(path) in log
    assert "Traceback" not in log


def test_web_config_parser_names_the_file(tmp_path: Path) -> None:
    """A missing file is a WebConfigError naming it."""
    with pytest.raises(WebConfigError, match=r"missing\.yml"):
        load_web_config(str(tmp_path / "missing.yml"))


async def test_concurrent_first_logins_all_succeed(serve: Serve, tmp_path: Path) -> None:
    """Many requests with the same new credentials at once: every one is answered 200."""
    served = await serve(web_config=write_web_config(tmp_path))
    results = await asyncio.gather(
        *(served.call("GET", "/api/v1/incidents", headers=basic("bob")) for _ in range(20))
    )
    assert {status for status, _ in results} == {200}


async def test_query_api_posts_need_a_user_not_an_admin(serve: Serve, tmp_path: Path) -> None:
    """Grafana POSTs its queries form-encoded: a non-admin user may, as for GET; a POST that
    changes state still needs an admin, and no credentials still get 401."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    form = {"query": "1+1", "start": "0", "end": "60", "step": "30"}
    for path in ("/api/v1/query", "/api/v1/query_range"):
        status, body = await served.call("POST", path, data=form, headers=basic("bob"))
        assert status == 200, body
        status, _ = await served.call("POST", path, data=form)
        assert status == 401
    series = {"match[]": "up"}
    for path in ("/api/v1/series", "/api/v1/labels"):
        status, body = await served.call("POST", path, data=series, headers=basic("bob"))
        assert status == 200, body
    status, _ = await served.call("POST", "/api/v1/silences", json={}, headers=basic("bob"))
    assert status == 403
