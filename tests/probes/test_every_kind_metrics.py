"""Every chat kind, streamed or not, passing or overloaded: its metrics are promtool-clean."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config import load_config
from aiwatch.config.model import CHAT_KINDS
from tests.probes.conftest import mock_url, start_app, write_config
from tests.probes.test_series import promtool_check


def targets(url: str) -> list[dict[str, Any]]:
    """Per chat kind: a streaming target, a plain one, and one its endpoint says is overloaded."""
    out: list[dict[str, Any]] = []
    for kind in CHAT_KINDS:
        base = {"kind": kind, "url": url, "model": "mock-gpt", "interval": "1h"}
        price = {"input_per_million": 1, "output_per_million": 2}
        out += [
            {"name": f"{kind}-stream", **base, "stream": True, "price": price},
            {"name": f"{kind}-plain", **base, "price": price},
            {"name": f"{kind}-busy", **base, "request": {"mock": {"fault": "overloaded"}}},
        ]
    return out


async def get(url: str) -> str:
    """GET ``url``; its body, after checking the status is 200."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()


@pytest.mark.parametrize("kind", CHAT_KINDS)
async def test_each_kinds_probe_metrics_pass_promtool(
    kind: str, mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """/probe of each target of the kind answers promtool-clean metrics with its tokens and
    cost, and the failing one its error type; so is the daemon's /metrics afterwards."""
    path = write_config(tmp_path / "aiwatch.yml", {"targets": targets(mock_url(mock_ai))})
    server, url = await start_app(aiohttp_server, load_config(str(path)))
    try:
        for name in (f"{kind}-stream", f"{kind}-plain"):
            text = await get(f"{url}/probe?target={name}")
            promtool_check(text.encode())
            assert f'aiwatch_probe_success{{target="{name}",kind="{kind}"' in text
            assert "} 1.0\n" in text.split("aiwatch_probe_success{", 1)[1]
            assert "aiwatch_probe_cost_usd_total{" in text
        busy = await get(f"{url}/probe?target={kind}-busy")
        promtool_check(busy.encode())
        # OpenAI answers the mock's overload with a plain 503; the others say "overloaded".
        expected = "server_error" if kind.startswith("openai") else "overloaded"
        assert f'error_type="{expected}"}} 1' in busy
        promtool_check((await get(f"{url}/metrics")).encode())
    finally:
        await server.close()


@pytest.mark.parametrize("kind", CHAT_KINDS)
async def test_each_kinds_debug_output_and_target_entry(
    kind: str, mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """/probe?debug=true names the kind and its request path; the targets API says it POSTs."""
    path = write_config(tmp_path / "aiwatch.yml", {"targets": targets(mock_url(mock_ai))})
    server, url = await start_app(aiohttp_server, load_config(str(path)))
    try:
        text = await get(f"{url}/probe?target={kind}-stream&debug=true")
        assert f"(kind {kind}, model mock-gpt, streaming)" in text
        assert "Result: success" in text
        assert "rate limit resets in: -; retry after: -" in text
        entries = json.loads(await get(f"{url}/api/v1/targets"))["data"]["targets"]
        methods = {e["name"]: e["config"]["method"] for e in entries}
        assert methods[f"{kind}-stream"] == "POST"
    finally:
        await server.close()
