"""Streams measured chunk by chunk: gaps, stalls, buffered streams and tokens without usage."""

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer

from aiwatch import metrics
from aiwatch.app.build import make_app
from aiwatch.config import load_config
from aiwatch.mockai import make_mock_app
from aiwatch.probes import web as probes_web
from aiwatch.runtime import ConfigState, Options
from tests.probes_kinds.conftest import Mock
from tests.probes_kinds.test_probe_metrics import probe_metrics


async def test_gaps_between_chunks_match_the_mock_pace(mock: Mock) -> None:
    """6 chunks at 20 tokens/s: 5 gaps of ~50 ms, in the histogram's counts, sum and longest."""
    behavior = {"time_to_first_token": 0.1, "tokens_per_second": 20, "output_tokens": 6}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert result.success, result.error
    assert result.content_chunks == 6
    assert sum(result.chunk_gap_counts) == 5
    assert len(result.chunk_gap_counts) == len(metrics.CHUNK_GAP_BUCKETS) + 1
    # The mock paces chunks on an absolute schedule: the gaps add up to 5 × 50 ms.
    assert result.chunk_gap_sum == pytest.approx(0.25, abs=0.05)
    assert result.longest_chunk_gap is not None
    assert 0.045 <= result.longest_chunk_gap <= 0.15
    # No gap is shorter than 25 ms: every one sits above the first two buckets.
    assert result.chunk_gap_counts[0] == result.chunk_gap_counts[1] == 0
    assert result.stream_buffered is False


async def test_stall_timeout_fails_a_stalled_stream_in_about_stall_timeout(mock: Mock) -> None:
    """A stream that stops after 3 chunks fails with stream_stalled ~0.3 s later, long before
    the 5 s timeout."""
    behavior = {"stall_after": 3, "output_tokens": 8}
    target = mock.target(stream=True, timeout=5.0, stall_timeout=0.3, request={"mock": behavior})
    started = time.monotonic()
    result = await mock.probe(target)
    took = time.monotonic() - started
    assert result.error_type == "stream_stalled", result.error
    assert result.error is not None
    assert "after chunk 3" in result.error
    assert "stall_timeout 0.3s" in result.error
    assert 0.3 <= result.duration < 1.5
    assert took < 2.5
    assert result.content_chunks == 3


async def test_without_stall_timeout_a_stall_is_a_timeout(mock: Mock) -> None:
    """The same stall with no stall_timeout waits for the whole timeout and says timeout."""
    behavior = {"stall_after": 3, "output_tokens": 8}
    result = await mock.probe(mock.target(stream=True, timeout=0.6, request={"mock": behavior}))
    assert result.error_type == "timeout"
    assert result.duration >= 0.6


async def test_a_slow_steady_stream_is_not_stalled(mock: Mock) -> None:
    """Gaps of 200 ms under a 600 ms stall_timeout, after a 700 ms first token: success (the
    watch starts at the first content chunk)."""
    behavior = {"time_to_first_token": 0.7, "tokens_per_second": 5, "output_tokens": 5}
    target = mock.target(stream=True, timeout=5.0, stall_timeout=0.6, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.longest_chunk_gap is not None
    assert 0.15 <= result.longest_chunk_gap < 0.6


async def test_a_buffered_stream_is_flagged(mock: Mock) -> None:
    """30 chunks paced at 100/s but held and sent in one write: flagged buffered, still a
    success without expect.streaming."""
    behavior = {"buffer_stream": True, "tokens_per_second": 100, "output_tokens": 30}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert result.success, result.error
    assert result.stream_buffered is True
    assert result.content_chunks == 30
    assert result.longest_chunk_gap is not None
    assert result.longest_chunk_gap < 0.01


async def test_expect_streaming_fails_a_buffered_stream(mock: Mock) -> None:
    """expect: {streaming: true} turns a buffered stream into validation_failed (streaming)."""
    behavior = {"buffer_stream": True, "tokens_per_second": 100, "output_tokens": 30}
    target = mock.target(stream=True, expect={"streaming": True}, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.error_type == "validation_failed"
    assert result.error is not None
    assert result.error.startswith("streaming: content arrived in one burst")
    failed = [c for c in result.checks if not c.ok]
    assert [c.name for c in failed] == ["streaming"]


async def test_expect_streaming_passes_a_paced_stream(mock: Mock) -> None:
    """The same 30 chunks sent as generated (200/s) pass expect.streaming, unflagged."""
    behavior = {"tokens_per_second": 200, "output_tokens": 30}
    target = mock.target(stream=True, expect={"streaming": True}, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.stream_buffered is False
    assert any(c.name == "streaming" and c.ok for c in result.checks)


async def test_a_short_burst_is_not_called_buffered(mock: Mock) -> None:
    """5 chunks in one write are too few to tell: not flagged, expect.streaming passes."""
    behavior = {"buffer_stream": True, "output_tokens": 5}
    target = mock.target(stream=True, expect={"streaming": True}, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.stream_buffered is False


async def test_usage_wins_over_the_chunk_count(mock: Mock) -> None:
    """A stream with usage: tokens come from usage (9), not from its 3 chunks."""
    behavior = {"reply": "one two three", "output_tokens": 9}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert result.success, result.error
    assert result.content_chunks == 3
    assert result.output_tokens == 9
    assert not result.output_tokens_estimated


CHUNK_CASES: dict[str, dict[str, Any]] = {
    "paced": {"tokens_per_second": 50, "output_tokens": 6},
    "no-usage": {"tokens_per_second": 50, "output_tokens": 6, "omit_usage": True},
    "buffered": {"buffer_stream": True, "output_tokens": 25},
    "stalled": {"stall_after": 2, "output_tokens": 6},
}


@pytest.fixture
async def daemon(aiohttp_server: Callable[..., Any], tmp_path: Path) -> str:
    """The daemon's probes component over one streaming target per case of CHUNK_CASES."""
    mock: TestServer = await aiohttp_server(make_mock_app(seed=3), host="127.0.0.1", port=0)
    targets = [
        {
            "name": name,
            "kind": "openai_chat",
            "url": f"http://127.0.0.1:{mock.port}/v1",
            "model": "mock-gpt",
            "stream": True,
            "stall_timeout": "200ms",
            "interval": "1h",
            "timeout": "2s",
            "price": {"input_per_million": 1, "output_per_million": 10},
            "budget": {"tokens_per_day": 1_000_000, "cost_per_day": 5},
            "request": {"mock": behavior},
        }
        for name, behavior in CHUNK_CASES.items()
    ]
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump({"targets": targets}))
    config = load_config(str(path))
    app = make_app(
        ConfigState(config, Options(config_file=str(path))), components=(probes_web.setup,)
    )
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}"


async def test_chunk_metrics_in_the_exposition(daemon: str) -> None:
    """/probe exposes the gap histogram, the longest gap, the buffered flag and the token
    source, each saying what the mock was told to do."""
    paced = await probe_metrics(daemon, "paced")
    assert paced["aiwatch_probe_inter_chunk_seconds_count{}"] == 5.0
    assert 0.05 <= paced["aiwatch_probe_inter_chunk_seconds_sum{}"] <= 0.15
    assert paced["aiwatch_probe_inter_chunk_seconds_bucket{le=+Inf}"] == 5.0
    assert paced["aiwatch_probe_inter_chunk_seconds_bucket{le=0.01}"] == 0.0
    assert 0.015 <= paced["aiwatch_probe_longest_inter_chunk_gap_seconds{}"] <= 0.1
    assert paced["aiwatch_probe_stream_buffered{}"] == 0.0
    assert paced["aiwatch_probe_tokens_total{source=usage,type=output}"] == 6.0
    assert paced["aiwatch_probe_tokens_total{source=chunks,type=output}"] == 0.0

    no_usage = await probe_metrics(daemon, "no-usage")
    assert no_usage["aiwatch_probe_tokens_total{source=chunks,type=output}"] == 6.0
    assert no_usage["aiwatch_probe_tokens_total{source=usage,type=output}"] == 0.0
    assert no_usage["aiwatch_probe_cost_usd_total{}"] == pytest.approx(6 * 10 / 1e6)
    assert no_usage["aiwatch_probe_time_per_output_token_seconds_count{}"] == 1.0

    buffered = await probe_metrics(daemon, "buffered")
    assert buffered["aiwatch_probe_stream_buffered{}"] == 1.0

    stalled = await probe_metrics(daemon, "stalled")
    assert stalled["aiwatch_probe_errors_total{error_type=stream_stalled}"] == 1.0


async def test_debug_output_shows_chunks_and_estimate(daemon: str) -> None:
    """/probe?debug=true says the output tokens are estimated, and whether it was buffered."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{daemon}/probe?target=no-usage&debug=true") as r:
            text = await r.text()
        assert "output tokens: 6 (estimated: content chunks, no usage)" in text
        assert "content chunks: 6" in text
        assert "buffered stream: no" in text
        async with http.get(f"{daemon}/probe?target=buffered&debug=true") as r:
            text = await r.text()
        assert "buffered stream: yes" in text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
async def test_promtool_accepts_the_chunk_metrics(daemon: str) -> None:
    """promtool check metrics finds no problem in the exposition of every streaming case,
    budget gauges included."""
    async with aiohttp.ClientSession() as http:
        for name in CHUNK_CASES:
            async with http.get(f"{daemon}/probe?target={name}") as r:
                assert r.status == 200
        async with http.get(f"{daemon}/metrics") as r:
            text = await r.text()
    assert "aiwatch_probe_inter_chunk_seconds_bucket" in text
    assert 'aiwatch_probe_budget_remaining{target="paced"' in text
    checked = await asyncio.to_thread(
        subprocess.run,
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == ""
