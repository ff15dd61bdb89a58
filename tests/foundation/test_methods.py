"""A wrong method answers 405 in the JSON envelope with the ``Allow`` header HTTP requires."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from aiwatch.app.build import make_app
from aiwatch.config import parse_config
from aiwatch.runtime import ConfigState, Options


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """The core app (no components) on 127.0.0.1, port 0."""
    config = parse_config("targets: []\n", "aiwatch.yml", env={})
    app = make_app(ConfigState(config, Options(config_file="aiwatch.yml")))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/metrics", "GET,HEAD"),
        ("DELETE", "/api/v1/status/config", "GET,HEAD"),
        ("GET", "/-/reload", "POST"),
    ],
)
async def test_wrong_method_is_405_with_allow(url: str, method: str, path: str, allow: str) -> None:
    """The body is the error envelope; ``Allow`` lists the methods the route takes."""
    async with aiohttp.ClientSession() as session, session.request(method, url + path) as resp:
        body = await resp.json()
        assert resp.status == 405
        assert resp.headers["Allow"] == allow
    assert body["status"] == "error"
    assert body["errorType"] == "bad_data"
    assert f"method {method} not allowed" in body["error"]
