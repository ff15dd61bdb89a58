"""Experiments created, changed, started and deleted over the API and the command line; they
survive a restart; config-defined ones are read-only."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from aiwatch.config import load_config
from tests.daemons import Daemon

from .conftest import daemon_app
from .test_api import EXPERIMENT, write
from .test_cli import aiwatch

Client = Callable[..., Any]

CANARY: dict[str, Any] = {
    "name": "summary-canary",
    "type": "canary",
    "control": "stable",
    "variants": [{"name": "stable"}, {"name": "canary"}],
    "metrics": [
        {"name": "rating", "source": "observations", "kind": "mean", "margin": 0.1},
    ],
    "min_samples": 5,
}


@pytest.fixture
async def api(tmp_path: Path, aiohttp_client: Client) -> TestClient[Any, Any]:
    """The daemon's app with one config-defined experiment (``prompts``), on 127.0.0.1."""
    config = load_config(str(write(tmp_path / "aiwatch.yml", [EXPERIMENT])))
    client: TestClient[Any, Any] = await aiohttp_client(daemon_app(config, tmp_path / "data"))
    return client


async def call(client: TestClient[Any, Any], method: str, path: str, **kw: Any) -> Any:
    """Status and JSON body of one request."""
    response = await client.request(method, path, **kw)
    return response.status, await response.json()


async def test_create_change_start_stop_delete(api: TestClient[Any, Any], db_path: Path) -> None:
    """A created experiment is a draft listed with ``source: api``; a draft takes a merge
    patch; once started it refuses changes and deletion (409); stopped, it is deleted and
    its definition and results are kept in the archive table."""
    status, body = await call(api, "POST", "/api/v1/experiments", json=CANARY)
    assert status == 201, body
    assert (body["data"]["state"], body["data"]["source"]) == ("draft", "api")
    assert body["data"]["release"]["verdict"] == "inconclusive"
    status, listing = await call(api, "GET", "/api/v1/experiments")
    assert {(d["name"], d["source"]) for d in listing["data"]} == {
        ("prompts", "config"),
        ("summary-canary", "api"),
    }
    patch = {"min_samples": 3, "metrics": [{**CANARY["metrics"][0], "margin": 0.2}]}
    status, body = await call(api, "PATCH", "/api/v1/experiments/summary-canary", json=patch)
    assert status == 200, body
    assert body["data"]["min_samples"] == 3
    assert body["data"]["release"]["metrics"][0]["margin"] == 0.2
    status, body = await call(api, "POST", "/api/v1/experiments/summary-canary/start")
    assert (status, body["data"]["state"]) == (200, "running")
    observations = [{"variant": v, "metric": "rating", "value": x} for v in ("stable", "canary")
                    for x in (4, 5, 4, 5, 4, 5)]  # fmt: skip
    status, _ = await call(
        api, "POST", "/api/v1/experiments/summary-canary/observations", json=observations
    )
    assert status == 200
    status, body = await call(api, "PATCH", "/api/v1/experiments/summary-canary", json=patch)
    assert status == 409
    assert body["error"] == "experiment 'summary-canary' is running; only draft ones can be changed"
    status, body = await call(api, "DELETE", "/api/v1/experiments/summary-canary")
    assert status == 409
    assert "only draft or stopped ones can be deleted" in body["error"]
    assert (await call(api, "POST", "/api/v1/experiments/summary-canary/stop"))[0] == 200
    status, body = await call(api, "DELETE", "/api/v1/experiments/summary-canary")
    assert status == 200, body
    assert body["data"]["name"] == "summary-canary"
    assert (await call(api, "GET", "/api/v1/experiments/summary-canary"))[0] == 404
    with sqlite3.connect(db_path.parent / "data" / "aiwatch.db") as conn:
        rows = conn.execute("SELECT name, state, result FROM experiment_archive").fetchall()
        left = conn.execute(
            "SELECT count(*) FROM experiment_arms WHERE experiment = 'summary-canary'"
        ).fetchone()
    assert [(name, state) for name, state, _ in rows] == [("summary-canary", "stopped")]
    assert '"n": 6' in rows[0][2]
    assert left == (0,)


async def test_validation_problems_name_json_paths(api: TestClient[Any, Any]) -> None:
    """Every problem of a refused document comes back at once, each with the JSON path of
    the value: schema problems and cross-key ones (as in the config file)."""
    bad = {
        **CANARY,
        "variants": [{"name": "stable"}, {"name": "canary", "weight": -1}],
        "metrics": [
            {"name": "rating", "source": "observations", "goal": "up", "margin": 0.1},
            {"name": "latency", "source": "probe", "field": "duration", "margin": 0.1},
        ],
        "colour": "blue",
    }
    status, body = await call(api, "POST", "/api/v1/experiments", json=bad)
    assert status == 400
    paths = [p["path"] for p in body["problems"]]
    assert paths == ["$.colour", "$.metrics[0].goal", "$.variants[1].weight"]
    assert body["problems"][0]["message"].startswith("unknown key 'colour'")
    assert body["error"].startswith("$.colour: unknown key 'colour'")
    missing = {**CANARY, "metrics": [{"name": "rating", "source": "observations"}]}
    status, body = await call(api, "POST", "/api/v1/experiments", json=missing)
    assert status == 400
    assert body["problems"] == [
        {"path": "$.metrics[0]", "message": "margin is required in a canary experiment"}
    ]
    unknown_target = {
        **CANARY,
        "variants": [{"name": "stable", "target": "nope"}, {"name": "canary", "target": "nope"}],
        "metrics": [{"name": "ok", "source": "probe", "field": "success", "margin": 0.1}],
    }
    status, body = await call(api, "POST", "/api/v1/experiments", json=unknown_target)
    assert [p["path"] for p in body["problems"]] == [
        "$.variants[0].target",
        "$.variants[1].target",
    ]
    assert (await call(api, "GET", "/api/v1/experiments/summary-canary"))[0] == 404


async def test_config_defined_experiments_are_read_only(api: TestClient[Any, Any]) -> None:
    """PATCH and DELETE of a config-defined experiment answer 409; creating one of the same
    name does too."""
    status, body = await call(api, "PATCH", "/api/v1/experiments/prompts", json={"alpha": 0.1})
    assert status == 409
    assert body["error"] == "experiment 'prompts' is defined in the config file"
    status, body = await call(api, "DELETE", "/api/v1/experiments/prompts")
    assert status == 409
    assert "defined in the config file" in body["error"]
    status, body = await call(api, "POST", "/api/v1/experiments", json=EXPERIMENT)
    assert status == 409
    assert body["error"] == "an experiment named 'prompts' exists (config)"


@pytest.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    """Daemons started by a test; all stopped afterwards."""
    started: list[Daemon] = []
    yield started
    await asyncio.gather(*(d.stop() for d in started))


async def test_api_defined_experiments_survive_a_restart_and_a_reload(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """A real ``aiwatch run``: an experiment created over the API, started and fed, is there
    with its state and data after a reload and after a restart on the same storage."""
    config = write(tmp_path / "aiwatch.yml", [EXPERIMENT])
    storage, log = tmp_path / "data", tmp_path / "aiwatch.log"
    first = await Daemon.start(config, storage, log=log)
    daemons.append(first)
    status, body = await first.request("POST", "/api/v1/experiments", json=CANARY)
    assert status == 201, body
    await first.request("POST", "/api/v1/experiments/summary-canary/start")
    values = [{"variant": "canary", "metric": "rating", "value": x} for x in (3, 4, 5)]
    await first.request("POST", "/api/v1/experiments/summary-canary/observations", json=values)
    status, _ = await first.request("POST", "/-/reload")
    assert status == 200
    status, reloaded = await first.request("GET", "/api/v1/experiments/summary-canary")
    assert (status, reloaded["data"]["state"]) == (200, "running")
    assert await first.stop() == 0
    second = await Daemon.start(config, storage, log=log)
    daemons.append(second)
    status, after = await second.request("GET", "/api/v1/experiments/summary-canary")
    assert status == 200
    assert (after["data"]["state"], after["data"]["source"]) == ("running", "api")
    assert after["data"]["results"] == reloaded["data"]["results"]
    status, listing = await second.request("GET", "/api/v1/experiments")
    assert [d["name"] for d in listing["data"]] == ["prompts", "summary-canary"]


async def test_command_line_creates_starts_stops_and_deletes(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """``aiwatch experiments create FILE.yml``, ``start``, ``pause``, ``stop``, ``delete``;
    a refused file exits 1 naming the JSON path."""
    config = load_config(str(write(tmp_path / "aiwatch.yml", [EXPERIMENT])))
    server = await aiohttp_server(daemon_app(config, tmp_path / "data"), host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{server.port}"
    spec = tmp_path / "canary.yml"
    spec.write_text(yaml.safe_dump(CANARY))
    code, out, err = await aiwatch("experiments", "create", str(spec), "--url", url)
    assert (code, out, err) == (0, "created summary-canary (canary, draft)\n", "")
    for change, state in [("start", "running"), ("pause", "paused"), ("stop", "stopped")]:
        code, out, _ = await aiwatch("experiments", change, "summary-canary", "--url", url)
        assert (code, out) == (0, f"summary-canary: {state}\n")
    code, out, _ = await aiwatch("experiments", "delete", "summary-canary", "--url", url)
    assert code == 0
    assert out.startswith("deleted summary-canary (archive #")
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({**CANARY, "alpha": 2}))
    code, out, err = await aiwatch("experiments", "create", str(bad), "--url", url)
    assert code == 1
    assert "$.alpha: 2 is greater than or equal to the maximum of 1" in err
    code, _, err = await aiwatch("experiments", "delete", "prompts", "--url", url)
    assert code == 1
    assert "defined in the config file" in err
