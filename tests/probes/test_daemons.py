"""Real ``aiwatch run`` processes: every probe kind passes promtool; shards split the targets."""

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from aiwatch.mockai import MOCK
from tests.daemons import Daemon
from tests.probes.conftest import mock_url, requests_by_model, write_config
from tests.probes.test_series import promtool_check

StartDaemon = Callable[..., Any]
PROBED = re.compile(r'^aiwatch_probes_total\{target="([^"]+)".*result="success"\} ([0-9]+)$', re.M)


def probed(metrics: str) -> dict[str, int]:
    """Successful probes per target, read from a /metrics page."""
    return {name: int(n) for name, n in PROBED.findall(metrics)}


async def wait_probed(daemon: Daemon, names: set[str], *, at_least: int = 2) -> str:
    """Poll /metrics until each of ``names`` succeeded ``at_least`` times; the last page."""
    text = ""
    for _ in range(100):
        text = (await daemon.get("/metrics"))[1].decode()
        counts = probed(text)
        if all(counts.get(n, 0) >= at_least for n in names):
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"not all of {sorted(names)} probed:\n{text[-3000:]}")


async def test_every_probe_kind_passes_promtool(
    mock_ai: TestServer, daemons: StartDaemon, tmp_path: Path
) -> None:
    """Streaming and plain chat, embeddings, http, failures and rate limits: promtool is silent."""
    url = mock_url(mock_ai)
    mock_ai.app[MOCK].models["limited"] = {
        "ratelimit_remaining_requests": 99,
        "ratelimit_remaining_tokens": 9000,
    }
    mock_ai.app[MOCK].models["broken"] = {"fault": "server_error"}
    every = {"interval": "200ms", "timeout": "2s", "feature": "captions"}
    docs: list[dict[str, Any]] = [
        {"name": "chat-stream", "kind": "openai_chat", "url": url, "model": "limited",
         "stream": True, "price": {"input_per_million": 0.15, "output_per_million": 0.6},
         "labels": {"team": "vision", "target": "clash"}},
        {"name": "chat-plain", "kind": "openai_chat", "url": url, "model": "mock-gpt",
         "expect": {"contains": "pong"}},
        {"name": "embed", "kind": "openai_embeddings", "url": url, "model": "mock-embedding"},
        {"name": "http", "kind": "http", "url": url + "/models", "expect": {"status": [200]}},
        {"name": "down", "kind": "openai_chat", "url": url, "model": "broken"},
    ]  # fmt: skip
    config = write_config(tmp_path / "aiwatch.yml", {"targets": [{**every, **d} for d in docs]})
    daemon = await daemons(config)
    names = {d["name"] for d in docs} - {"down"}
    text = await wait_probed(daemon, names)
    promtool_check(text.encode())
    for family in (
        "aiwatch_probe_success",
        "aiwatch_probes_total",
        'aiwatch_probe_errors_total{target="down"',
        "aiwatch_probe_duration_seconds_bucket",
        "aiwatch_probe_time_to_first_byte_seconds_bucket",
        'aiwatch_probe_time_to_first_token_seconds_bucket{target="chat-stream"',
        'aiwatch_probe_time_per_output_token_seconds_bucket{target="chat-stream"',
        'aiwatch_probe_tokens_total{target="embed"',
        'aiwatch_probe_cost_usd_total{target="chat-stream"',
        "aiwatch_probe_http_status_code",
        "aiwatch_probe_last_run_timestamp_seconds",
        "aiwatch_probes_skipped_total",
        'aiwatch_ratelimit_remaining{target="chat-stream"',
        'aiwatch_target_info{target="chat-stream"',
    ):
        assert family in text, family
    assert 'exported_target="clash"' in text
    assert 'error_type="server_error"' in text


async def test_three_shards_probe_every_target_exactly_once(
    mock_ai: TestServer, daemons: StartDaemon, tmp_path: Path
) -> None:
    """--shard 0/3, 1/3, 2/3 over one config: each target is probed by exactly one daemon."""
    url = mock_url(mock_ai)
    names = [f"target-{i:02d}" for i in range(12)]
    docs = [
        {"name": n, "kind": "openai_chat", "url": url, "model": n, "interval": "200ms"}
        for n in names
    ]
    config = write_config(tmp_path / "aiwatch.yml", {"targets": docs})
    shards = await asyncio.gather(*(daemons(config, "--shard", f"{i}/3") for i in range(3)))
    owned: list[set[str]] = []
    for daemon in shards:
        data = json.loads((await daemon.get("/api/v1/targets"))[1])["data"]
        mine = {t["name"] for t in data["targets"] if t["in_shard"]}
        owned.append(mine)
        text = await wait_probed(daemon, mine, at_least=1)
        assert set(probed(text)) == mine
    assert all(owned)
    assert sorted(n for mine in owned for n in mine) == names  # disjoint and complete
    requests = requests_by_model(mock_ai)
    assert all(requests.get(n, 0) >= 1 for n in names)
    # Still one owner each after another round: no target is probed by two daemons.
    for daemon, mine in zip(shards, owned, strict=True):
        await wait_probed(daemon, mine, at_least=2)
    seen: dict[str, int] = {}
    for daemon in shards:
        for name, count in probed((await daemon.get("/metrics"))[1].decode()).items():
            if count:
                seen[name] = seen.get(name, 0) + 1
    assert seen == dict.fromkeys(names, 1)
