"""Canary analysis over two mock-ai targets, read through the verdict endpoint as release
controllers read it: Argo Rollouts (a JSON path, then conditions) and Flagger (the status)."""

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer

from aiwatch.config import load_config
from aiwatch.mockai import make_mock_app

from .argo import analysis_metric, argo_phase
from .conftest import daemon_app

DEADLINE = 60.0
"""Seconds allowed to reach a decided verdict; a few suffice on an idle machine."""
PASS_WITHIN = 120
"""Samples per arm by which equal targets pass. docs/release-gates.md's table gives 30 (a
spread of 30 %) to 75 (50 %) at this margin and tuning when the estimate is 0; the estimate's
own noise and a loaded machine's latency spread ask for more."""
Client = Callable[..., Any]


def canary_document(mock_url: str, *, min_samples: int = 20) -> dict[str, Any]:
    """Two targets (the stable model, the canary's) and a canary experiment comparing them."""
    every = {"kind": "openai_chat", "url": mock_url, "interval": "50ms", "timeout": "1s"}
    return {
        "targets": [
            {"name": "stable", "model": "stable", **every},
            {"name": "canary", "model": "canary", **every},
        ],
        "experiments": [
            {
                "name": "rollout",
                "type": "canary",
                "control": "stable",
                "variants": [
                    {"name": "stable", "target": "stable"},
                    {"name": "canary", "target": "canary"},
                ],
                "metrics": [
                    {"name": "success_rate", "source": "probe", "field": "success", "margin": 0.1},
                    {
                        "name": "latency",
                        "source": "probe",
                        "field": "duration",
                        "goal": "decrease",
                        "margin": 0.25,
                    },
                ],
                "min_samples": min_samples,
                "sequential_tuning": 200,
            }
        ],
    }


async def start(
    tmp_path: Path,
    aiohttp_server: Callable[..., Any],
    aiohttp_client: Client,
    *,
    canary_latency: float,
    min_samples: int = 20,
) -> TestClient[Any, Any]:
    """mock-ai (the stable model answers in 30-40 ms) and the daemon's app probing it."""
    mock = make_mock_app(
        seed=3,
        models={
            "stable": {"latency": 0.03, "latency_jitter": 0.01},
            "canary": {"latency": canary_latency, "latency_jitter": canary_latency / 3},
        },
    )
    server: TestServer = await aiohttp_server(mock, host="127.0.0.1", port=0)
    path = tmp_path / "aiwatch.yml"
    document = canary_document(f"http://127.0.0.1:{server.port}/v1", min_samples=min_samples)
    path.write_text(yaml.safe_dump(document))
    app = daemon_app(load_config(str(path)), tmp_path / "data")
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def verdict(client: TestClient[Any, Any], query: str = "") -> tuple[int, dict[str, Any]]:
    """The verdict endpoint's status and body."""
    response = await client.get("/api/v1/experiments/rollout/verdict" + query)
    return response.status, await response.json()


async def until_decided(client: TestClient[Any, Any]) -> dict[str, Any]:
    """Poll the verdict until it is pass or fail (bounded by ``DEADLINE``)."""
    data: dict[str, Any] = {}
    begun = time.monotonic()
    while time.monotonic() - begun < DEADLINE:
        status, body = await verdict(client)
        assert status == 200, body
        data = body["data"]
        if data["verdict"] != "inconclusive":
            return data
        await asyncio.sleep(0.2)
    raise AssertionError(f"no decision within {DEADLINE}s: {data}")


async def test_equal_targets_pass_within_the_documented_samples(
    tmp_path: Path, aiohttp_server: Callable[..., Any], aiohttp_client: Client
) -> None:
    """Baseline and canary behave alike: the verdict becomes pass, on both metrics, before
    either arm has more than ``PASS_WITHIN`` samples; Argo and Flagger read it as success."""
    client = await start(tmp_path, aiohttp_server, aiohttp_client, canary_latency=0.03)
    data = await until_decided(client)
    assert data["verdict"] == "pass", data
    assert data["reason"] == "canary passes on every metric"
    assert [m["verdict"] for m in data["metrics"]] == ["pass", "pass"]
    latency = data["metrics"][1]
    assert latency["metric"] == "latency"
    assert latency["ci"][1] < latency["margin"] == 0.25
    assert max(latency["n"].values()) <= PASS_WITHIN
    status, body = await verdict(client)
    template = analysis_metric("canary")
    assert argo_phase(template, status, body) == "Successful"
    status, _ = await verdict(client, "?require=pass")
    assert status == 200
    status, refused = await verdict(client, "?require=fail")
    assert status == 412
    assert refused["error"].startswith("verdict is pass, not fail")
    posted = await client.post(
        "/api/v1/experiments/rollout/verdict?require=pass",
        json={"name": "podinfo", "namespace": "test", "phase": "Progressing"},
    )
    assert posted.status == 200


async def test_three_times_slower_canary_fails(
    tmp_path: Path, aiohttp_server: Callable[..., Any], aiohttp_client: Client
) -> None:
    """A canary answering three times slower fails on latency; Argo sees Failed, Flagger's
    rollback hook (``require=fail``) gets 200 and its promotion gate a refusal."""
    client = await start(tmp_path, aiohttp_server, aiohttp_client, canary_latency=0.09)
    data = await until_decided(client)
    assert data["verdict"] == "fail", data
    assert data["reason"] == "canary fails on latency"
    latency = {m["metric"]: m for m in data["metrics"]}["latency"]
    assert latency["verdict"] == "fail"
    assert latency["ci"][0] > 0.25
    assert latency["reason"].startswith("worse than margin 0.25: harm interval [")
    status, body = await verdict(client)
    assert argo_phase(analysis_metric("canary"), status, body) == "Failed"
    assert (await verdict(client, "?require=fail"))[0] == 200
    status, refused = await verdict(client, "?require=pass")
    assert status == 412
    assert refused["error"].startswith("verdict is fail, not pass: canary fails on latency")


async def test_too_few_samples_is_inconclusive(
    tmp_path: Path, aiohttp_server: Callable[..., Any], aiohttp_client: Client
) -> None:
    """Below ``min_samples`` the verdict is inconclusive and says how many samples it has
    and needs, however clear the data; Argo sees neither success nor failure, Flagger's
    promotion gate and rollback hook both wait."""
    client = await start(
        tmp_path, aiohttp_server, aiohttp_client, canary_latency=0.09, min_samples=100_000
    )
    data: dict[str, Any] = {}
    begun = time.monotonic()
    while time.monotonic() - begun < DEADLINE:
        status, body = await verdict(client)
        data = body["data"]
        if min(data["metrics"][1]["n"].values()) >= 20:
            break
        await asyncio.sleep(0.2)
    assert data["verdict"] == "inconclusive"
    latency = data["metrics"][1]
    assert latency["verdict"] == "inconclusive"
    assert re.fullmatch(
        r"too few samples: baseline \d+, candidate \d+ of 100000 needed", latency["reason"]
    )
    assert data["reason"].startswith("success_rate: too few samples: ")
    assert latency["samples_needed"] >= 100_000 - min(latency["n"].values())
    assert argo_phase(analysis_metric("canary"), status, body) == "Inconclusive"
    assert (await verdict(client, "?require=pass"))[0] == 412
    assert (await verdict(client, "?require=fail"))[0] == 412


async def test_verdict_errors(
    tmp_path: Path, aiohttp_server: Callable[..., Any], aiohttp_client: Client
) -> None:
    """An unknown experiment is 404; a ``require`` other than pass or fail is 400."""
    client = await start(tmp_path, aiohttp_server, aiohttp_client, canary_latency=0.03)
    for path, status, message in [
        ("/api/v1/experiments/nope/verdict", 404, "no configured experiment named 'nope'"),
        ("/api/v1/experiments/rollout/verdict?require=maybe", 400, "require must be pass or fail"),
    ]:
        response = await client.get(path)
        body = await response.json()
        assert response.status == status
        assert body["error"].startswith(message)
