"""Every bad input is a 400 (or, for a password, a plain 401) with a message, never a 5xx."""

import json
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient

from aiwatch.config import load_config
from tests.experiments.conftest import daemon_app
from tests.incidents.conftest import Serve, basic, write_web_config

EXPERIMENT: dict[str, Any] = {
    "name": "prompts",
    "hypothesis": "the short prompt is rated higher",
    "control": "long",
    "variants": [{"name": "long"}, {"name": "short"}],
    "metrics": [{"name": "rating", "source": "observations", "kind": "mean"}],
}


async def test_password_over_72_bytes_is_a_wrong_password(serve: Serve, tmp_path: Path) -> None:
    """bcrypt refuses passwords over 72 bytes; for a known or an unknown user the answer is
    the 401 of any wrong password, not a 500."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    for user in ("alice", "mallory"):
        for password in ("x" * 73, "alice-secret" + "y" * 100):
            status, body = await served.call(
                "GET", "/api/v1/incidents", headers=basic(user, password)
            )
            assert status == 401, body
            assert body["error"] == "invalid user name or password"
    assert (await served.call("GET", "/api/v1/incidents", headers=basic("alice")))[0] == 200


async def test_lone_surrogate_in_an_alert_label_is_a_400(serve: Serve) -> None:
    """A JSON string with a lone UTF-16 surrogate is no Unicode text: 400, nothing stored."""
    served = await serve()
    for labels in ('{"alertname": "A\\ud800"}', '{"a\\udfff": "x"}'):
        body = f'[{{"labels": {labels}}}]'
        status, answer = await served.call(
            "POST", "/api/v2/alerts", data=body, headers={"Content-Type": "application/json"}
        )
        assert status == 400, answer
        assert answer["errorType"] == "bad_data"
        assert "lone surrogate" in answer["error"]
    assert await served.call("GET", "/api/v1/incidents") == (200, {"status": "success", "data": []})


async def test_limit_of_5000_digits_is_a_400(serve: Serve) -> None:
    """``?limit=`` and ids beyond Python's integer-conversion limit are a 400 naming the range."""
    served = await serve()
    status, body = await served.call("GET", "/api/v1/incidents?limit=" + "9" * 5000)
    assert status == 400, body
    assert "want an integer from 1 to 1000" in body["error"]
    assert (await served.call("GET", "/api/v1/incidents?limit=" + "0" * 30 + "5"))[0] == 200
    status, body = await served.call("GET", "/api/v1/incidents/" + "7" * 5000)
    assert status == 400, body


async def test_huge_integers_in_observations_are_a_400(tmp_path: Path, aiohttp_client: Any) -> None:
    """An integer of 309 digits (past the float range) or of over 4,300 digits (past Python's
    conversion limit) in an observation is a 400 with a message."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump({"experiments": [EXPERIMENT]}))
    client: TestClient[Any, Any] = await aiohttp_client(
        daemon_app(load_config(str(path)), tmp_path / "data")
    )
    url = "/api/v1/experiments/prompts/observations"
    for number, words in (
        ("1" + "0" * 309, "value must be finite, got an integer of 310 digits"),
        ("-1" + "0" * 400, "value must be finite"),
        ("7" * 5000, "request body is not valid JSON"),
    ):
        text = f'[{{"variant": "long", "metric": "rating", "value": {number}}}]'
        response = await client.post(url, data=text)
        body = await response.json()
        assert response.status == 400, body
        assert words in body["error"]
    fine = await client.post(
        url, data=json.dumps([{"variant": "long", "metric": "rating", "value": 3}])
    )
    assert fine.status == 200
