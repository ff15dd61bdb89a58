"""The probes over HTTP: /probe on demand, the targets API, and reloads reaching /metrics."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config import load_config
from aiwatch.mockai import MOCK
from aiwatch.probes.scheduler import shard_of
from tests.probes.conftest import mock_url, start_app, write_config
from tests.probes.test_series import promtool_check

SECRET = "sk-planted-41c9e2"


def targets(url: str) -> list[dict[str, Any]]:
    """A passing chat target, a failing one, and one that only answers after a long wait."""
    return [
        {
            "name": "chat",
            "kind": "openai_chat",
            "url": url,
            "model": "mock-gpt",
            "api_key": SECRET,
            "stream": True,
            "interval": "1h",
            "expect": {"contains": "pong"},
        },
        {
            "name": "strict",
            "kind": "openai_chat",
            "url": url,
            "model": "mock-gpt",
            "interval": "1h",
            "labels": {"team": "vision"},
            "expect": {"contains": "never-said"},
        },
        {"name": "idle", "kind": "http", "url": url + "/models", "interval": "1h"},
    ]


@pytest.fixture
async def daemon(
    mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> AsyncIterator[tuple[str, Path]]:
    """The app with the probes component on a real port; yields its URL and config path."""
    path = write_config(tmp_path / "aiwatch.yml", {"targets": targets(mock_url(mock_ai))})
    server, url = await start_app(aiohttp_server, load_config(str(path)))
    yield url, path
    await server.close()


async def get(url: str) -> tuple[int, str]:
    """GET ``url``: status and body text."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


async def test_probe_runs_a_configured_target_now(
    daemon: tuple[str, Path], mock_ai: TestServer
) -> None:
    """/probe?target= answers that probe's metrics (promtool-clean); scheduled series untouched."""
    url, _ = daemon
    status, text = await get(url + "/probe?target=chat")
    assert status == 200
    assert 'aiwatch_probe_success{target="chat",kind="openai_chat"' in text
    assert "} 1.0\n" in text.split("aiwatch_probe_success{", 1)[1]
    assert "aiwatch_probe_time_to_first_token_seconds_count{" in text
    promtool_check(text.encode())
    assert mock_ai.app[MOCK].stats["requests"] == 1
    _, metrics = await get(url + "/metrics")
    labels = 'target="chat",kind="openai_chat",feature="",model="mock-gpt"'
    assert f'aiwatch_probes_total{{{labels},result="success"}} 0\n' in metrics


async def test_probe_debug_explains_the_request_checks_and_metrics(
    daemon: tuple[str, Path],
) -> None:
    """debug=true shows the redacted request, timings, each check's verdict and the metrics."""
    url, _ = daemon
    status, text = await get(url + "/probe?target=chat&debug=true")
    assert status == 200
    assert SECRET not in text
    assert "Authorization: <secret>" in text
    assert "POST " in text
    assert "/chat/completions" in text
    assert "time to first token:" in text
    assert "[ok] contains: 'pong' found" in text
    assert "Result: success" in text
    assert "Metrics:\n# HELP aiwatch_probe_success" in text
    status, text = await get(url + "/probe?target=strict&debug=true")
    assert "Result: failure: validation_failed" in text
    assert "[FAILED] contains: 'never-said' not found" in text
    assert 'error_type="validation_failed"} 1' in text


async def test_head_on_probe_is_405_and_probes_nothing(
    mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """HEAD /probe (plain or debug) answers 405 with ``Allow: GET`` and never reaches the
    endpoint; a GET right after does, so the mock's counter would have seen a probe."""
    path = write_config(tmp_path / "aiwatch.yml", {"targets": targets(mock_url(mock_ai))[:1]})
    # The target belongs to the other shard: no scheduled probe can reach the mock meanwhile.
    server, url = await start_app(
        aiohttp_server, load_config(str(path)), shard=(1 - shard_of("chat", 2), 2)
    )
    try:
        async with aiohttp.ClientSession() as session:
            for query in ("target=chat", "target=chat&debug=true"):
                async with session.head(f"{url}/probe?{query}") as resp:
                    assert resp.status == 405
                    assert resp.headers["Allow"] == "GET"
                    assert resp.content_type == "application/json"
            assert mock_ai.app[MOCK].stats["requests"] == 0
            async with session.get(f"{url}/probe?target=chat") as resp:
                assert resp.status == 200
            assert mock_ai.app[MOCK].stats["requests"] == 1
    finally:
        await server.close()


async def test_probe_accepts_only_configured_targets(daemon: tuple[str, Path]) -> None:
    """An unknown name is a 404 envelope; no name is a 400; a URL parameter is never used."""
    url, _ = daemon
    status, text = await get(url + "/probe?target=nope")
    assert status == 404
    assert json.loads(text) == {
        "status": "error",
        "errorType": "not_found",
        "error": "no configured target named 'nope'; configured targets: chat, strict, idle",
    }
    status, text = await get(url + "/probe?url=http://127.0.0.1:9/")
    assert status == 400
    assert json.loads(text)["errorType"] == "bad_data"
    status, text = await get(url + "/probe?target=idle&url=http://127.0.0.1:9/&target_url=x")
    assert status == 200
    assert 'aiwatch_probe_http_status_code{target="idle",kind="http",feature="",model=""} 200' in (
        text
    )


async def test_probe_errors_say_which_targets_exist(daemon: tuple[str, Path]) -> None:
    """A near-miss name gets a did-you-mean; a URL (blackbox_exporter's ``?target=URL``)
    is a 400 that says targets come from the config, without echoing the URL."""
    url, _ = daemon
    status, text = await get(url + "/probe?target=chta")
    assert status == 404
    assert json.loads(text)["error"] == (
        "no configured target named 'chta'; did you mean 'chat'?; "
        "configured targets: chat, strict, idle"
    )
    status, text = await get(url + "/probe?target=http://127.0.0.1:9/v1?key=s3cr3t")
    assert status == 400
    error = json.loads(text)["error"]
    assert "only targets of the config file, by name" in error
    assert "configured targets: chat, strict, idle" in error
    assert "s3cr3t" not in error


async def test_targets_api_reports_health_errors_schedule_and_redacts(
    daemon: tuple[str, Path],
) -> None:
    """/api/v1/targets: each target's config (secret redacted), health, last error, next due."""
    url, _ = daemon
    status, text = await get(url + "/api/v1/targets")
    assert status == 200
    assert SECRET not in text
    data = json.loads(text)["data"]
    assert data["shard"] == {"index": 0, "count": 1}
    by_name = {t["name"]: t for t in data["targets"]}
    assert set(by_name) == {"chat", "strict", "idle"}
    chat = by_name["chat"]
    assert chat["config"]["api_key"] == "<secret>"
    assert chat["config"]["interval"] == 3600.0
    assert chat["health"] == "unknown"
    assert chat["last_error"] is None
    assert chat["in_shard"] is True
    assert chat["next_due_time"].endswith("Z")
    assert by_name["strict"]["labels"]["team"] == "vision"


async def test_targets_api_shows_the_method_each_probe_sends(
    mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """The OpenAI kinds show POST (what they send; the mock only takes POST there), and http
    shows its configured method, or the POST a body implies."""
    base = mock_url(mock_ai)
    docs = [
        {"name": "chat", "kind": "openai_chat", "url": base, "model": "mock-gpt"},
        {"name": "embed", "kind": "openai_embeddings", "url": base, "model": "mock-embedding"},
        {"name": "get", "kind": "http", "url": base + "/models"},
        {"name": "put", "kind": "http", "url": base + "/models", "method": "PUT"},
        {"name": "body", "kind": "http", "url": base + "/models", "body": "x"},
    ]
    for doc in docs:
        doc["interval"] = "1h"
    path = write_config(tmp_path / "aiwatch.yml", {"targets": docs})
    server, url = await start_app(aiohttp_server, load_config(str(path)))
    try:
        data = json.loads((await get(url + "/api/v1/targets"))[1])["data"]
        methods = {t["name"]: t["config"]["method"] for t in data["targets"]}
        expected = {"chat": "POST", "embed": "POST", "get": "GET", "put": "PUT", "body": "POST"}
        assert methods == expected
        for name in ("chat", "embed"):
            status, text = await get(url + f"/probe?target={name}&debug=true")
            assert status == 200
            assert "Result: success" in text
            assert "  POST http://127.0.0.1:" in text
    finally:
        await server.close()


async def test_targets_api_after_scheduled_probes(
    mock_ai: TestServer, tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """After scheduled probes: up with its duration and time, down with the error's type."""
    docs = targets(mock_url(mock_ai))
    for doc in docs:
        doc["interval"] = "100ms"
    path = write_config(tmp_path / "aiwatch.yml", {"targets": docs})
    server, url = await start_app(aiohttp_server, load_config(str(path)))
    try:
        for _ in range(50):
            data = json.loads((await get(url + "/api/v1/targets"))[1])["data"]
            by_name = {t["name"]: t for t in data["targets"]}
            if all(t["health"] != "unknown" for t in by_name.values()):
                break
            await asyncio.sleep(0.05)
    finally:
        await server.close()
    chat, strict = by_name["chat"], by_name["strict"]
    assert chat["health"] == "up"
    assert chat["last_duration_seconds"] > 0
    assert chat["last_probe_time"].endswith("Z")
    assert {"name": "contains", "ok": True, "detail": "'pong' found"} in chat["last_checks"]
    assert strict["health"] == "down"
    assert strict["last_error"]["type"] == "validation_failed"
    assert "never-said" in strict["last_error"]["message"]


async def test_reload_reaches_metrics(daemon: tuple[str, Path], mock_ai: TestServer) -> None:
    """POST /-/reload with a target removed and one added: /metrics follows."""
    url, path = daemon
    docs = [t for t in targets(mock_url(mock_ai)) if t["name"] != "idle"]
    docs.append({"name": "fresh", "kind": "http", "url": mock_url(mock_ai) + "/models"})
    write_config(path, {"targets": docs})
    async with aiohttp.ClientSession() as session, session.post(url + "/-/reload") as resp:
        assert resp.status == 200, await resp.text()
    _, metrics = await get(url + "/metrics")
    assert 'target="idle"' not in metrics
    assert 'target="fresh"' in metrics
    assert 'target="chat"' in metrics
    promtool_check(metrics.encode())


async def test_concurrent_on_demand_probes_of_a_target_share_one(
    daemon: tuple[str, Path], mock_ai: TestServer
) -> None:
    """Three simultaneous /probe calls for one target cause one request to the endpoint."""
    url, _ = daemon
    mock_ai.app[MOCK].models["mock-gpt"] = {"latency": 0.3}
    answers = await asyncio.gather(*(get(url + "/probe?target=strict") for _ in range(3)))
    assert [status for status, _ in answers] == [200, 200, 200]
    assert len({text for _, text in answers}) == 1
    assert mock_ai.app[MOCK].stats["requests"] == 1
