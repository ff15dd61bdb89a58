"""Fixtures: the mock AI endpoint on a real port and a client for it."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.mockai import make_mock_app


@pytest.fixture
async def mock_url(aiohttp_server: Callable[..., Any]) -> str:
    """Base URL (without /v1) of a mock endpoint on 127.0.0.1, port 0, seed 1."""
    server: TestServer = await aiohttp_server(make_mock_app(seed=1), host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session."""
    async with aiohttp.ClientSession() as session:
        yield session
