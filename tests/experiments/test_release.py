"""``on_fail: incident`` through the incident store, and a blue-green experiment before and
after its switch, over HTTP on the daemon's app with a real SQLite file."""

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp.test_utils import TestClient

from aiwatch.config import load_config

from .conftest import daemon_app
from .test_api import write
from .test_cli import aiwatch

Client = Callable[..., Any]

CANARY: dict[str, Any] = {
    "name": "rollout",
    "type": "canary",
    "on_fail": "incident",
    "control": "stable",
    "variants": [{"name": "stable"}, {"name": "canary"}],
    "metrics": [
        {"name": "latency", "source": "observations", "goal": "decrease", "margin": 0.1},
    ],
    "min_samples": 10,
    "sequential_tuning": 100,
}

BLUE_GREEN: dict[str, Any] = {
    "name": "switch",
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
        },
    ],
    "min_samples": 10,
    "sequential_tuning": 100,
}


@pytest.fixture
async def api(tmp_path: Path, aiohttp_client: Client) -> TestClient[Any, Any]:
    """The daemon's app (probes, incidents, experiments) with both experiments configured."""
    config = load_config(str(write(tmp_path / "aiwatch.yml", [CANARY, BLUE_GREEN])))
    client: TestClient[Any, Any] = await aiohttp_client(daemon_app(config, tmp_path / "data"))
    return client


def latencies(variant: str, mean: float, n: int, *, seed: int) -> list[dict[str, Any]]:
    """``n`` latency observations around ``mean`` (10 % spread)."""
    rng = random.Random(seed)
    return [
        {"variant": variant, "metric": "latency", "value": rng.gauss(mean, mean / 10)}
        for _ in range(n)
    ]


async def post(client: TestClient[Any, Any], path: str, body: Any = None) -> Any:
    """POST and return the JSON body, asserting a 2xx."""
    response = await client.post(path, json=body)
    data = await response.json()
    assert response.status < 300, data
    return data


async def incidents(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    """Every incident, newest first."""
    response = await client.get("/api/v1/incidents")
    body = await response.json()
    assert response.status == 200, body
    found: list[dict[str, Any]] = body["data"]
    return found


async def test_a_failing_canary_opens_an_incident_and_stopping_resolves_it(
    api: TestClient[Any, Any],
) -> None:
    """The verdict turns fail (a canary three times slower): one firing ExperimentFailed
    incident with the experiment's labels and the reason; stopping the experiment resolves it."""
    assert await incidents(api) == []
    await post(
        api, "/api/v1/experiments/rollout/observations", latencies("stable", 1.0, 30, seed=1)
    )
    assert await incidents(api) == []
    await post(
        api, "/api/v1/experiments/rollout/observations", latencies("canary", 3.0, 30, seed=2)
    )
    opened = await incidents(api)
    assert len(opened) == 1
    incident = opened[0]
    assert incident["state"] == "firing"
    assert incident["alertname"] == "ExperimentFailed"
    assert incident["labels"] == {
        "alertname": "ExperimentFailed",
        "experiment": "rollout",
        "type": "canary",
        "severity": "critical",
    }
    assert incident["annotations"]["summary"] == "rollout: canary fails on latency"
    await post(api, "/api/v1/experiments/rollout/observations", latencies("canary", 3.0, 5, seed=3))
    assert [i["state"] for i in await incidents(api)] == ["firing"]
    await post(api, "/api/v1/experiments/rollout/stop")
    after = await incidents(api)
    assert [(i["id"], i["state"]) for i in after] == [(incident["id"], "resolved")]


async def test_blue_green_before_and_after_the_switch(api: TestClient[Any, Any]) -> None:
    """Before the switch green is judged alone against its threshold (pass); the switch
    starts green's data again and ends blue's (a late observation for blue is refused); after
    it green is compared with blue's last window, and a green three times slower than blue
    fails. A second switch is a conflict."""
    await post(api, "/api/v1/experiments/switch/observations", latencies("blue", 1.0, 30, seed=4))
    await post(api, "/api/v1/experiments/switch/observations", latencies("green", 1.0, 30, seed=5))
    response = await api.get("/api/v1/experiments/switch/verdict")
    before = (await response.json())["data"]
    assert (before["phase"], before["verdict"]) == ("before_switch", "pass")
    metric = before["metrics"][0]
    assert metric["threshold"] == 2.0
    assert metric["reason"].startswith("within threshold 2: harm interval [")
    switched = (await post(api, "/api/v1/experiments/switch/switch"))["data"]
    assert switched["switched_at"] is not None
    assert switched["release"]["phase"] == "after_switch"
    assert switched["release"]["metrics"][0]["n"] == {"baseline": 30, "candidate": 0}
    assert switched["release"]["verdict"] == "inconclusive"
    await post(api, "/api/v1/experiments/switch/observations", latencies("green", 3.0, 30, seed=6))
    response = await api.get("/api/v1/experiments/switch/verdict")
    after = (await response.json())["data"]
    assert (after["phase"], after["verdict"]) == ("after_switch", "fail")
    assert after["metrics"][0]["n"] == {"baseline": 30, "candidate": 30}
    late = await api.post(
        "/api/v1/experiments/switch/observations", json=latencies("blue", 1.0, 3, seed=7)
    )
    assert late.status == 409
    assert (await late.json())["error"].endswith("blue's window ended at the switch")
    again = await api.post("/api/v1/experiments/switch/switch")
    assert again.status == 409
    assert (await again.json())["error"] == "experiment 'switch' was already switched"
    canary = await api.post("/api/v1/experiments/rollout/switch")
    assert canary.status == 409


async def test_a_verdict_of_an_ab_experiment_is_refused(
    tmp_path: Path, aiohttp_client: Client
) -> None:
    """An A/B experiment has no release verdict: 400 naming its type."""
    plain = {
        "name": "ab",
        "control": "a",
        "variants": [{"name": "a"}, {"name": "b"}],
        "metrics": [{"name": "rating", "source": "observations"}],
    }
    config = load_config(str(write(tmp_path / "aiwatch.yml", [plain])))
    client = await aiohttp_client(daemon_app(config, tmp_path / "data"))
    response = await client.get("/api/v1/experiments/ab/verdict")
    assert response.status == 400
    assert (await response.json())["error"].startswith("experiment 'ab' is of type ab;")


async def test_the_verdict_needs_no_admin_but_changes_do(
    tmp_path: Path, aiohttp_client: Client
) -> None:
    """With basic-auth users, a user who is not an admin may GET and POST the verdict (as
    Flagger's webhooks do) but may not create, switch or delete experiments (403)."""
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  flagger: {hashed}\n")
    config = load_config(str(write(tmp_path / "aiwatch.yml", [CANARY, BLUE_GREEN])))
    app = daemon_app(config, tmp_path / "data", web_config=web_config)
    client = await aiohttp_client(app)
    auth = {"Authorization": aiohttp.encode_basic_auth("flagger", "s3cret")}
    posted = await client.post(
        "/api/v1/experiments/rollout/verdict", json={"name": "podinfo"}, headers=auth
    )
    assert posted.status == 200, await posted.text()
    assert (await posted.json())["data"]["verdict"] == "inconclusive"
    assert (await client.get("/api/v1/experiments/rollout/verdict", headers=auth)).status == 200
    assert (await client.get("/api/v1/experiments/rollout/verdict")).status == 401
    for method, path in [
        ("POST", "/api/v1/experiments"),
        ("POST", "/api/v1/experiments/switch/switch"),
        ("DELETE", "/api/v1/experiments/rollout"),
        ("PATCH", "/api/v1/experiments/rollout"),
    ]:
        response = await client.request(method, path, json=CANARY, headers=auth)
        assert response.status == 403, (method, path)


async def test_command_line_switch_and_verdict(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """``aiwatch experiments switch NAME`` switches a blue-green experiment;
    ``aiwatch experiments verdict NAME`` prints the verdict, its phase and one line per metric."""
    config = load_config(str(write(tmp_path / "aiwatch.yml", [CANARY, BLUE_GREEN])))
    server = await aiohttp_server(daemon_app(config, tmp_path / "data"), host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{server.port}"
    code, out, err = await aiwatch("experiments", "switch", "switch", "--url", url)
    assert (code, out, err) == (0, "switch: running\n", "")
    code, out, _ = await aiwatch("experiments", "verdict", "switch", "--url", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "switch: inconclusive (after_switch): latency: too few samples: "
        "baseline 0, candidate 0 of 10 needed"
    )
    assert lines[2].split() == ["METRIC", "VERDICT", "N", "REASON"]
    assert lines[3].split()[:3] == ["latency", "inconclusive", "0/0"]
    code, _, err = await aiwatch("experiments", "switch", "switch", "--url", url)
    assert code == 1
    assert "was already switched" in err
