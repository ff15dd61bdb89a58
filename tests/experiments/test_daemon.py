"""A real ``aiwatch run``: observations, probe data and states survive a restart."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestServer

from aiwatch.mockai import make_mock_app
from tests.daemons import Daemon

from .test_api import promtool_check


@pytest.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    """Daemons started by a test; all stopped afterwards."""
    started: list[Daemon] = []
    yield started
    await asyncio.gather(*(d.stop() for d in started))


def config(path: Path, mock_port: int) -> Path:
    """An observations experiment and a probe experiment over one mock-ai target each."""
    every = {"kind": "openai_chat", "url": f"http://127.0.0.1:{mock_port}/v1", "interval": "50ms"}
    path.write_text(
        yaml.safe_dump(
            {
                "targets": [
                    {"name": "one", "model": "one", **every},
                    {"name": "two", "model": "two", **every},
                ],
                "experiments": [
                    {
                        "name": "prompts",
                        "control": "long",
                        "variants": [{"name": "long"}, {"name": "short"}],
                        "metrics": [{"name": "rating", "source": "observations"}],
                        "min_samples": 2,
                    },
                    {
                        "name": "models",
                        "control": "one",
                        "variants": [
                            {"name": "one", "target": "one"},
                            {"name": "two", "target": "two"},
                        ],
                        "metrics": [{"name": "ok", "source": "probe", "field": "success"}],
                    },
                ],
            }
        )
    )
    return path


def arm(document: dict[str, Any], variant: str, metric: str) -> tuple[int, Any]:
    """``(n, mean)`` of one row of an experiment document."""
    row = next(r for r in document["results"] if (r["variant"], r["metric"]) == (variant, metric))
    return row["n"], row["mean"]


async def test_observations_probe_data_and_state_survive_a_restart(
    tmp_path: Path, daemons: list[Daemon], aiohttp_server: Callable[..., Any]
) -> None:
    """Post, pause, restart on the same --storage.path: the same n and mean, still paused."""
    mock: TestServer = await aiohttp_server(make_mock_app(seed=3), host="127.0.0.1", port=0)
    assert mock.port is not None
    path = config(tmp_path / "aiwatch.yml", mock.port)
    storage, log = tmp_path / "data", tmp_path / "aiwatch.log"
    first = await Daemon.start(path, storage, log=log)
    daemons.append(first)
    values = [3, 4, 4, 5, 2]
    status, body = await first.request(
        "POST",
        "/api/v1/experiments/prompts/observations",
        json=[{"variant": "short", "metric": "rating", "value": v} for v in values]
        + [{"variant": "long", "metric": "rating", "n": 4, "sum": 10, "sum_squares": 27}],
    )
    assert status == 200, body
    for _ in range(100):  # the first probes land within a few intervals of start-up
        status, body = await first.request("GET", "/api/v1/experiments/models")
        if arm(body["data"], "one", "ok")[0] > 0:
            break
        await asyncio.sleep(0.05)
    status, body = await first.request("POST", "/api/v1/experiments/models/pause")
    assert status == 200, body
    probed = arm(body["data"], "one", "ok")
    assert probed[0] > 0, "no probe reached the experiment before the pause"
    status, before = await first.request("GET", "/api/v1/experiments/prompts")
    assert arm(before["data"], "short", "rating") == (5, pytest.approx(3.6))
    assert arm(before["data"], "long", "rating") == (4, pytest.approx(2.5))
    status, text = await first.request("GET", "/metrics")
    promtool_check(text.encode())
    labels = 'experiment="prompts",metric="rating",variant="short"'
    assert f"aiwatch_experiment_samples{{{labels}}} 5.0" in text.splitlines()
    assert await first.stop() == 0

    second = await Daemon.start(path, storage, log=log)
    daemons.append(second)
    status, after = await second.request("GET", "/api/v1/experiments/prompts")
    assert status == 200
    assert after["data"]["results"] == before["data"]["results"]
    assert after["data"]["started_at"] == before["data"]["started_at"]
    status, models = await second.request("GET", "/api/v1/experiments/models")
    assert models["data"]["state"] == "paused"
    assert arm(models["data"], "one", "ok") == probed
    await asyncio.sleep(0.3)  # probes keep running; the paused experiment must not grow
    status, later = await second.request("GET", "/api/v1/experiments/models")
    assert arm(later["data"], "one", "ok") == probed
