"""A blue-green experiment's validation suite run against green before the switch, over HTTP
on the daemon's app, against the mock AI endpoint: the suite's result decides the verdict."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from aiwatch.config import load_config
from aiwatch.mockai import MOCK, MockState, make_mock_app
from tests.validation.conftest import FAST, PRICE

from .conftest import daemon_app
from .test_cli import aiwatch
from .test_release import latencies, post

Client = Callable[..., Any]

MAX_CALLS = 60


def experiment(name: str, suite: str) -> dict[str, Any]:
    """A blue-green experiment on observed latency whose suite file is ``suite``."""
    return {
        "name": name,
        "type": "blue_green",
        "control": "blue",
        "variants": [{"name": "blue"}, {"name": "green"}],
        "metrics": [
            {
                "name": "latency",
                "source": "observations",
                "goal": "decrease",
                "threshold": 2.0,
                "margin": 0.1,
            }
        ],
        "min_samples": 10,
        "sequential_tuning": 100,
        "validation": {"suite": suite},
    }


def suite(target: str, repetitions: int) -> dict[str, Any]:
    """A suite of one gate on ``target`` (a target of the daemon's config): 95 % success."""
    return {
        "validation": {
            "repetitions": repetitions,
            "concurrency": 4,
            "max_calls": MAX_CALLS,
            "gates": [{"target": target, "thresholds": {"min_success_ratio": 0.95}}],
        }
    }


@pytest.fixture
async def mock(aiohttp_server: Callable[..., Any]) -> tuple[str, MockState]:
    """The mock AI endpoint on 127.0.0.1: model ``healthy`` fast, ``broken`` failing 30 %."""
    app = make_mock_app(
        seed=5, behavior=FAST, models={"healthy": FAST, "broken": {**FAST, "error_rate": 0.3}}
    )
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}/v1", app[MOCK]


@pytest.fixture
async def api(
    tmp_path: Path, aiohttp_client: Client, mock: tuple[str, MockState]
) -> TestClient[Any, Any]:
    """The daemon with two blue-green experiments: ``good`` (healthy green) and ``bad``."""
    url = mock[0]

    def target(name: str, model: str) -> dict[str, Any]:
        # A day's interval: the daemon's own scheduled probes (spread over the interval by
        # name) stay out of the mock's request count, which must show the suite's calls only.
        return {
            "name": name,
            "kind": "openai_chat",
            "url": url,
            "model": model,
            "price": PRICE,
            "interval": "24h",
        }

    (tmp_path / "suites").mkdir()
    # ``bad`` plans more calls than its budget allows: the run stops at ``max_calls``.
    for name, repetitions in (("good", 40), ("bad", 100)):
        text = yaml.safe_dump(suite(f"green-{name}", repetitions))
        (tmp_path / "suites" / f"{name}.yml").write_text(text)
    document = {
        "targets": [target("green-good", "healthy"), target("green-bad", "broken")],
        "experiments": [experiment(n, f"suites/{n}.yml") for n in ("good", "bad")],
    }
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    client: TestClient[Any, Any] = await aiohttp_client(
        daemon_app(load_config(str(path)), tmp_path / "data")
    )
    return client


async def verdict(client: TestClient[Any, Any], name: str) -> dict[str, Any]:
    """The verdict document (a 200)."""
    response = await client.get(f"/api/v1/experiments/{name}/verdict")
    body = await response.json()
    assert response.status == 200, body
    data: dict[str, Any] = body["data"]
    return data


async def finished(client: TestClient[Any, Any], name: str) -> dict[str, Any]:
    """The verdict once the suite is no longer running (at most 60 s)."""
    for _ in range(600):
        doc = await verdict(client, name)
        if doc["validation"]["status"] != "running":
            return doc
        await asyncio.sleep(0.1)
    raise AssertionError(f"the suite of {name} still runs")


async def test_a_healthy_green_passes_after_its_suite(api: TestClient[Any, Any]) -> None:
    """Before the suite has run the verdict is inconclusive and says so; once the suite
    passes, the verdict is the metrics' (here pass), with the suite's report in it."""
    await post(api, "/api/v1/experiments/good/observations", latencies("green", 1.0, 30, seed=1))
    before = await verdict(api, "good")
    assert before["verdict"] == "inconclusive"
    assert before["reason"] == "validation suite not yet run against green"
    assert before["validation"] == {"status": "not_run"}
    started = await api.post("/api/v1/experiments/good/validate")
    assert started.status == 202, await started.text()
    again = await api.post("/api/v1/experiments/good/validate")
    assert again.status == 409
    assert (await verdict(api, "good"))["reason"].startswith("validation suite still running")
    doc = await finished(api, "good")
    assert doc["validation"]["status"] == "passed"
    assert doc["validation"]["report"]["passed"] is True
    assert doc["verdict"] == "pass"
    assert doc["reason"] == "green passes on every metric"
    gate = await api.get("/api/v1/experiments/good/verdict?require=pass")
    assert gate.status == 200


async def test_a_green_with_errors_fails_and_flagger_waits(
    api: TestClient[Any, Any], mock: tuple[str, MockState]
) -> None:
    """A green failing 30 % of calls against a 95 % success threshold: the verdict is ``fail``
    naming the threshold, even though the metrics alone pass; ``?require=pass`` answers 412
    and ``?require=fail`` 200; the suite stops at its ``max_calls`` (counted at the mock)."""
    await post(api, "/api/v1/experiments/bad/observations", latencies("green", 1.0, 30, seed=2))
    started = await api.post("/api/v1/experiments/bad/validate")
    assert started.status == 202
    doc = await finished(api, "bad")
    assert doc["validation"]["status"] == "failed"
    assert doc["verdict"] == "fail"
    assert doc["reason"].startswith("validation suite failed: green-bad: ")
    assert "min_success_ratio" in doc["reason"]
    assert doc["metrics"][0]["verdict"] == "pass"
    assert mock[1].stats["requests"] == MAX_CALLS
    assert "budget" in doc["reason"]
    promote = await api.get("/api/v1/experiments/bad/verdict?require=pass")
    assert promote.status == 412
    assert (await promote.json())["error"].startswith("verdict is fail, not pass: validation")
    rollback = await api.post("/api/v1/experiments/bad/verdict?require=fail")
    assert rollback.status == 200


async def test_the_switch_leaves_the_suite_behind(api: TestClient[Any, Any]) -> None:
    """After the switch green is compared with blue as a canary would be: the suite (never
    run here) no longer holds the verdict back, and the document shows no suite."""
    await post(api, "/api/v1/experiments/good/observations", latencies("blue", 1.0, 30, seed=3))
    await post(api, "/api/v1/experiments/good/switch")
    await post(api, "/api/v1/experiments/good/observations", latencies("green", 1.0, 30, seed=4))
    doc = await verdict(api, "good")
    assert doc["phase"] == "after_switch"
    assert doc["validation"] is None
    assert "validation" not in doc["reason"]


async def test_validate_needs_a_suite(api: TestClient[Any, Any], tmp_path: Path) -> None:
    """An experiment without ``validation`` answers 400 to ``validate``; an unknown one 404."""
    response = await api.post("/api/v1/experiments/nope/validate")
    assert response.status == 404
    created = {**experiment("plain", "x.yml"), "name": "plain"}
    del created["validation"]
    await post(api, "/api/v1/experiments", created)
    response = await api.post("/api/v1/experiments/plain/validate")
    assert response.status == 400
    assert "names no validation suite" in (await response.json())["error"]


async def test_command_line_validate(api: TestClient[Any, Any]) -> None:
    """``aiwatch experiments validate NAME`` starts the suite; the verdict then shows it."""
    url = f"http://127.0.0.1:{api.server.port}"
    code, out, err = await aiwatch("experiments", "validate", "good", "--url", url)
    assert code == 0, err
    assert out.strip() == "good: validation suite suites/good.yml running"
    doc = await finished(api, "good")
    assert doc["validation"]["status"] == "passed"


async def test_only_blue_green_takes_a_suite(api: TestClient[Any, Any]) -> None:
    """``validation`` on a canary experiment is refused with its JSON path."""
    document = {**experiment("canary-suite", "x.yml"), "type": "canary"}
    response = await api.post("/api/v1/experiments", json=document)
    assert response.status == 400
    problems = (await response.json())["problems"]
    assert {"path": "$.validation", "message": "validation applies to blue_green, not canary"} in (
        problems
    )
