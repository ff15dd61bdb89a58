"""A wrong method answers 405 in the JSON envelope with the ``Allow`` header HTTP requires."""

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.app.build import make_app
from aiwatch.config import parse_config
from aiwatch.runtime import ConfigState, Options


@pytest.fixture
async def url(aiohttp_server: Callable[..., Any]) -> str:
    """The core app (no components) on 127.0.0.1, port 0."""
    config = parse_config("targets: []\n", "aiwatch.yml", env={})
    app = make_app(ConfigState(config, Options(config_file="aiwatch.yml")))
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}"


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
