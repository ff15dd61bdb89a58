"""Fixtures: the mock AI endpoint served on a real port, and targets pointing at it."""

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config.model import Expect, Secret, Target
from aiwatch.mockai import MOCK, MockState, make_mock_app
from aiwatch.probes import ProbeResult, make_session, run_probe

API_KEY = "sk-planted-SECRET-0123456789"


@dataclasses.dataclass
class Mock:
    """A running mock endpoint: its base URL, its control plane, and a way to probe it."""

    url: str
    state: MockState
    client: aiohttp.ClientSession

    def target(self, **overrides: Any) -> Target:
        """A chat target at the mock with a short timeout; ``overrides`` change any field."""
        fields: dict[str, Any] = {
            "name": "mock-target",
            "kind": "openai_chat",
            "url": self.url,
            "interval": 5.0,
            "timeout": 2.0,
            "model": "mock-gpt",
            "api_key": Secret(API_KEY),
        }
        fields.update(overrides)
        if isinstance(fields.get("expect"), dict):
            fields["expect"] = Expect(**fields["expect"])
        return Target(**fields)

    async def probe(self, target: Target, *, prompt_index: int = 0) -> ProbeResult:
        """One probe of ``target`` through a fresh session built for it."""
        async with make_session(target) as session:
            return await run_probe(target, session, prompt_index=prompt_index)

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the mock's control API over HTTP and return its JSON."""
        async with self.client.request(method, self.url.removesuffix("/v1") + path, **kwargs) as r:
            assert r.status == 200, await r.text()
            return await r.json()


@pytest.fixture
async def mock(
    aiohttp_server: Callable[..., Any],
) -> AsyncIterator[Mock]:
    """The mock endpoint on 127.0.0.1, port 0, with an API key it enforces."""
    app = make_mock_app(seed=7, api_key=API_KEY)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    async with aiohttp.ClientSession() as client:
        yield Mock(url=f"http://127.0.0.1:{server.port}/v1", state=app[MOCK], client=client)
