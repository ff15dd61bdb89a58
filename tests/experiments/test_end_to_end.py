"""End to end: ``aiwatch run`` probing two mock-ai models reaches the right, significant verdict."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp.test_utils import TestServer

from aiwatch.mockai import make_mock_app
from tests.daemons import Daemon

from .test_api import promtool_check

DEADLINE = 45.0
"""Seconds allowed to reach the verdict; it takes a few on an idle machine."""


def config_document(mock_url: str) -> dict[str, Any]:
    """Two targets on one mock (one model each) and an experiment comparing them."""
    # A timeout above the interval is a config error; 100 ms is twice the slowest answer.
    every = {"kind": "openai_chat", "url": mock_url, "interval": "100ms", "timeout": "100ms"}
    return {
        "targets": [
            {"name": "primary", "model": "steady", **every},
            {"name": "candidate", "model": "better", **every},
        ],
        "experiments": [
            {
                "name": "models",
                "control": "current",
                "variants": [
                    {"name": "current", "target": "primary"},
                    {"name": "next", "target": "candidate"},
                ],
                "metrics": [
                    {"name": "success_rate", "source": "probe", "field": "success"},
                    {
                        "name": "latency",
                        "source": "probe",
                        "field": "duration",
                        "goal": "decrease",
                    },
                ],
                "min_samples": 30,
            }
        ],
    }


async def start_mock(aiohttp_server: Callable[..., Any]) -> TestServer:
    """mock-ai: ``steady`` fails 40 % and answers in ~40 ms; ``better`` fails 2 % in ~5 ms."""
    app = make_mock_app(
        seed=7,
        models={
            "steady": {"error_rate": 0.4, "latency": 0.03, "latency_jitter": 0.02},
            "better": {"error_rate": 0.02, "latency": 0.002, "latency_jitter": 0.006},
        },
    )
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return server


async def wait_for_verdict(url: str, winners: set[str]) -> dict[str, Any]:
    """Poll until a winner is declared with both metrics significant; note every winner seen.

    Latency usually becomes significant first and already makes a winner; the success rate
    follows within a few more seconds.
    """
    data: dict[str, Any] = {}
    start = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - start < DEADLINE:
            async with session.get(url + "/api/v1/experiments/models") as response:
                data = (await response.json())["data"]
            winner = data["verdict"]["winner"]
            if winner is not None:
                winners.add(winner)
                rows = [r for r in data["results"] if r["variant"] == winner]
                if all(r["significant"] for r in rows):
                    return data
            await asyncio.sleep(0.25)
    raise AssertionError(f"no significant winner within {DEADLINE}s: {data}")


async def test_better_model_wins_on_success_rate_and_latency(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """The model that fails less and answers faster wins, significant on both metrics."""
    mock = await start_mock(aiohttp_server)
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump(config_document(f"http://127.0.0.1:{mock.port}/v1")))
    daemon = await Daemon.start(path, tmp_path / "data", log=tmp_path / "aiwatch.log")
    winners: set[str] = set()
    try:
        data = await wait_for_verdict(daemon.url, winners)
        _, exposition = await daemon.request("GET", "/metrics")
    finally:
        code = await daemon.stop()
    assert code == 0, "aiwatch did not shut down cleanly"
    promtool_check(exposition.encode())
    labels = 'experiment="models",metric="success_rate",variant="next"'
    assert any(
        line.startswith(f"aiwatch_experiment_p_value{{{labels}}} ")
        for line in exposition.splitlines()
    )
    assert winners == {"next"}
    assert data["verdict"]["reason"] == "next beats current on success_rate, latency"
    assert data["srm"] is False
    rows = {(r["metric"], r["variant"]): r for r in data["results"]}
    success, latency = rows[("success_rate", "next")], rows[("latency", "next")]
    assert success["significant"]
    assert success["lift"] > 0
    assert latency["significant"]
    assert latency["lift"] < 0
    assert success["adjusted_p_value"] < 0.05
    assert latency["adjusted_p_value"] < 0.05
    assert rows[("success_rate", "current")]["mean"] < 0.8 < success["mean"]
