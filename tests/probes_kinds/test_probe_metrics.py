"""Acceptance end to end: each fault, probed through the daemon's /probe, in its metrics."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from aiwatch.app.build import make_app
from aiwatch.config import load_config
from aiwatch.mockai import make_mock_app
from aiwatch.probes import web as probes_web
from aiwatch.runtime import ConfigState, Options

# target name → (kind, stream, mock behaviour, expected error_type or None for success)
CASES: dict[str, tuple[str, bool, dict[str, Any], str | None]] = {
    "ok-stream": (
        "openai_chat",
        True,
        {"time_to_first_token": 0.2, "tokens_per_second": 50, "output_tokens": 11},
        None,
    ),
    "ok-plain": ("openai_chat", False, {"latency": 0.15}, None),
    "ok-embeddings": ("openai_embeddings", False, {"latency": 0.05}, None),
    "mid-stream-error": ("openai_chat", True, {"stream_error_after": 1}, "stream_error"),
    "no-done": ("openai_chat", True, {"omit_done": True}, "stream_error"),
    "stall": ("openai_chat", True, {"stall_after": 1}, "timeout"),
    "slow-headers": ("openai_chat", False, {"latency": 5}, "timeout"),
    "malformed": ("openai_chat", True, {"malformed_after": 0}, "invalid_response"),
    "no-usage": ("openai_chat", False, {"omit_usage": True}, "invalid_response"),
    "rate-limited": ("openai_chat", True, {"fault": "rate_limited"}, "rate_limited"),
    "quota": ("openai_chat", False, {"fault": "quota_exceeded"}, "quota_exceeded"),
    "context": (
        "openai_chat",
        False,
        {"fault": "context_length_exceeded"},
        "context_length_exceeded",
    ),
    "filtered": ("openai_chat", True, {"finish_reason": "content_filter"}, "content_filter"),
    "server": ("openai_chat", False, {"fault": "overloaded"}, "server_error"),
    "client": ("openai_chat", False, {"status": 404}, "client_error"),
    "nan": ("openai_embeddings", False, {"embedding_nan": True}, "invalid_response"),
}


@pytest.fixture
async def daemon(aiohttp_server: Callable[..., Any], tmp_path: Path) -> str:
    """The daemon's app (probes component) over a config with one target per case."""
    mock: TestServer = await aiohttp_server(make_mock_app(seed=3), host="127.0.0.1", port=0)
    targets = [
        {
            "name": name,
            "kind": kind,
            "url": f"http://127.0.0.1:{mock.port}/v1",
            "model": "mock-gpt",
            "stream": stream,
            "interval": "1h",  # only /probe runs them here
            "timeout": "500ms",
            "request": {"mock": behavior},
        }
        for name, (kind, stream, behavior, _) in CASES.items()
    ]
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump({"targets": targets}))
    config = load_config(str(path))
    app = make_app(
        ConfigState(config, Options(config_file=str(path))), components=(probes_web.setup,)
    )
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}"


async def probe_metrics(url: str, name: str) -> dict[str, float]:
    """The samples /probe?target=NAME answers, keyed by name{label=value,…} (sorted labels)."""
    async with aiohttp.ClientSession() as http, http.get(f"{url}/probe?target={name}") as r:
        assert r.status == 200
        text = await r.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(
                f"{k}={v}"
                for k, v in sorted(s.labels.items())
                if k not in ("target", "kind", "feature", "model")
            )
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


@pytest.mark.parametrize("name", list(CASES))
async def test_fault_shows_in_probe_metrics(daemon: str, name: str) -> None:
    """aiwatch_probe_success and the error_type counter say what the mock was told to do."""
    expected = CASES[name][3]
    samples = await probe_metrics(daemon, name)
    assert samples["aiwatch_probe_success{}"] == (1.0 if expected is None else 0.0)
    errors = {k: v for k, v in samples.items() if k.startswith("aiwatch_probe_errors_total{")}
    if expected is None:
        assert not any(errors.values())
    else:
        assert errors[f"aiwatch_probe_errors_total{{error_type={expected}}}"] == 1.0
        assert sum(errors.values()) == 1.0


async def test_timing_metrics_match_the_mock(daemon: str) -> None:
    """TTFT 0.2 s, 11 tokens at 50/s: the histograms hold ~0.2 s TTFT, ~0.4 s, ~0.02 s/token."""
    samples = await probe_metrics(daemon, "ok-stream")
    assert samples["aiwatch_probe_time_to_first_token_seconds_count{}"] == 1.0
    assert 0.2 <= samples["aiwatch_probe_time_to_first_token_seconds_sum{}"] <= 0.35
    assert 0.4 <= samples["aiwatch_probe_duration_seconds_sum{}"] <= 0.6
    assert 0.018 <= samples["aiwatch_probe_time_per_output_token_seconds_sum{}"] <= 0.03
    assert samples["aiwatch_probe_time_to_first_token_seconds_bucket{le=0.1}"] == 0.0
    assert samples["aiwatch_probe_time_to_first_token_seconds_bucket{le=0.5}"] == 1.0
    plain = await probe_metrics(daemon, "ok-plain")
    assert 0.15 <= plain["aiwatch_probe_duration_seconds_sum{}"] <= 0.3


async def test_timeouts_end_at_the_timeout(daemon: str) -> None:
    """A stalled stream and slow headers both end at the 500 ms timeout, not later."""
    for name in ("stall", "slow-headers"):
        samples = await probe_metrics(daemon, name)
        assert 0.5 <= samples["aiwatch_probe_duration_seconds_sum{}"] <= 0.8
