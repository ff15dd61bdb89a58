"""``/probe`` refuses ambiguous or misspelt parameters before probing anything."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config import load_config
from aiwatch.mockai import MOCK
from tests.probes.conftest import mock_url, start_app, write_config


@pytest.fixture
async def url(
    mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> AsyncIterator[str]:
    """The probes component on a real port with two targets on the mock."""
    base = mock_url(mock_ai)
    targets = [
        {"name": "a", "kind": "http", "url": base + "/models", "interval": "1h"},
        {"name": "b", "kind": "http", "url": base + "/models", "interval": "1h"},
    ]
    server, address = await start_app(
        aiohttp_server,
        load_config(str(write_config(tmp_path / "aiwatch.yml", {"targets": targets}))),
    )
    yield address
    await server.close()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, resp.content_type, await resp.text()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("target=a&target=b", "'target' parameter is given 2 times"),
        ("target=a&debug=yes", "'debug' parameter must be true or false"),
        ("target=a&debug=true&debug=false", "'debug' parameter is given 2 times"),
    ],
)
async def test_ambiguous_probe_parameters_are_bad_data(
    url: str, mock_ai: TestServer, query: str, message: str
) -> None:
    """Which target, or whether to debug, is never guessed; nothing is probed."""
    status, content_type, text = await get(f"{url}/probe?{query}")
    assert status == 400
    assert content_type == "application/json"
    assert '"errorType":"bad_data"' in text
    assert message in text
    assert mock_ai.app[MOCK].stats["requests"] == 0


@pytest.mark.parametrize(("debug", "is_debug"), [("true", True), ("1", True), ("false", False)])
async def test_debug_flag_values(url: str, debug: str, is_debug: bool) -> None:
    """``debug=true``/``1`` give the text report, ``false`` the exposition."""
    status, _, text = await get(f"{url}/probe?target=a&debug={debug}")
    assert status == 200
    assert text.startswith("Probe of target 'a'") is is_debug
    assert text.startswith("# HELP") is not is_debug
