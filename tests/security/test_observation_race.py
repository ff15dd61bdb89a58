"""The overflow guard of posted observations and their write are one step: concurrent posts
that each fit, but not together, cannot both pass and leave an arm infinite."""

import asyncio
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient

from aiwatch.config import load_config
from tests.experiments.conftest import daemon_app
from tests.security.test_bad_input import EXPERIMENT


async def test_concurrent_overflowing_posts_leave_the_arm_usable(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    """Two concurrent posts of 1.2e154 (whose squares sum past the float range): one is taken,
    the other is a 400, and the arm goes on taking observations and being analysed."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump({"experiments": [EXPERIMENT]}))
    client: TestClient[Any, Any] = await aiohttp_client(
        daemon_app(load_config(str(path)), tmp_path / "data")
    )
    url = "/api/v1/experiments/prompts/observations"
    big = [{"variant": "long", "metric": "rating", "value": 1.2e154}]
    answers = await asyncio.gather(*(client.post(url, json=big) for _ in range(2)))
    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 400], statuses
    refused = next(a for a in answers if a.status == 400)
    assert "would become too large" in (await refused.json())["error"]
    fine = await client.post(url, json=[{"variant": "long", "metric": "rating", "value": 1.0}])
    assert fine.status == 200, await fine.text()
    doc = await (await client.get("/api/v1/experiments/prompts")).json()
    long = doc["data"]["results"][0]
    assert long["n"] == 2
    assert long["guard"] is None
