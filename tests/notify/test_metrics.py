"""The notification metrics on a real daemon app: counters per configured route from the start."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.config import load_config
from aiwatch.runtime import ConfigState, Options

from .conftest import Receiver

Client = Callable[..., Any]


def _config(receiver: Receiver, *routes: str) -> str:
    lines = ["notifications:", "  routes:"]
    for name in routes:
        lines += [f"    - name: {name}", f'      apprise: ["{receiver.url(name)}"]']
    return "\n".join(lines) + "\n"


def _deliveries(page: str) -> set[str]:
    return {line for line in page.splitlines() if line.startswith("aiwatch_notifications_total")}


async def test_each_route_starts_at_zero_and_follows_reloads(
    tmp_path: Path, receiver: Receiver, aiohttp_client: Client
) -> None:
    """Before any delivery, /metrics holds sent and failed at 0 for every configured route,
    so increase() sees a route's very first failure; a reload adds and removes routes' series."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(_config(receiver, "oncall", "audit"))
    options = Options(config_file=str(path), storage_path=str(tmp_path / "data"))
    app = make_app(ConfigState(load_config(str(path)), options), components=COMPONENTS)
    client: TestClient[Any, Any] = await aiohttp_client(app)

    page = await (await client.get("/metrics")).text()
    assert _deliveries(page) == {
        'aiwatch_notifications_total{result="sent",route="oncall"} 0.0',
        'aiwatch_notifications_total{result="failed",route="oncall"} 0.0',
        'aiwatch_notifications_total{result="sent",route="audit"} 0.0',
        'aiwatch_notifications_total{result="failed",route="audit"} 0.0',
    }

    path.write_text(_config(receiver, "oncall", "managers"))
    response = await client.post("/-/reload")
    assert response.status == 200, await response.text()
    page = await (await client.get("/metrics")).text()
    assert _deliveries(page) == {
        'aiwatch_notifications_total{result="sent",route="oncall"} 0.0',
        'aiwatch_notifications_total{result="failed",route="oncall"} 0.0',
        'aiwatch_notifications_total{result="sent",route="managers"} 0.0',
        'aiwatch_notifications_total{result="failed",route="managers"} 0.0',
    }
