"""The rules component in a real aiohttp server: alerts fire, show in the API and /metrics."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.app.build import make_app
from aiwatch.config.model import Config, GlobalConfig
from aiwatch.rules import web as rules_web
from aiwatch.rules.events import MemorySink
from aiwatch.rules.restore import SavedAlert, StateFile
from aiwatch.runtime import ConfigState, Options

RULES = """\
groups:
  - name: always
    rules:
      - alert: AlwaysOn
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: 'value {{ $value }}'}
      - record: one
        expr: vector(1)
"""


async def _serve(
    aiohttp_server: Callable[..., Any], app: web.Application
) -> tuple[TestServer, str]:
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return server, f"http://127.0.0.1:{server.port}"


async def test_alert_fires_and_is_exposed(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """A rule over the local store fires; API, /metrics and the sinks all see it."""
    (tmp_path / "rules.yml").write_text(RULES)
    config = Config(
        path=str(tmp_path / "aiwatch.yml"),
        rule_files=("rules.yml",),
        global_=GlobalConfig(evaluation_interval=0.2),
    )
    state = ConfigState(config, Options(storage_path=str(tmp_path / "data")))
    app = make_app(state, components=[rules_web.setup])
    sink = MemorySink()
    app[rules_web.ALERT_SINKS].append(sink)
    server, base = await _serve(aiohttp_server, app)
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(50):
                if sink.events:
                    break
                await asyncio.sleep(0.1)
            async with client.get(f"{base}/api/v1/alerts") as response:
                alerts = (await response.json())["data"]["alerts"]
            async with client.get(f"{base}/api/v1/rules?type=record") as response:
                groups = (await response.json())["data"]["groups"]
            async with client.get(f"{base}/api/v1/rules?type=bogus") as response:
                assert response.status == 400
            async with client.get(f"{base}/metrics") as response:
                exposition = await response.text()
    finally:
        await server.close()
    assert [e.state for e in sink.events[:1]] == ["firing"]
    assert alerts[0]["labels"] == {"alertname": "AlwaysOn", "severity": "page"}
    assert alerts[0]["annotations"] == {"summary": "value 1"}
    assert [r["name"] for r in groups[0]["rules"]] == ["one"]
    assert 'aiwatch_alerts{alertname="AlwaysOn",alertstate="firing",severity="page"} 1.0' in (
        exposition
    )
    assert 'aiwatch_rule_evaluation_duration_seconds_count{rule_group="always"}' in exposition
    assert 'aiwatch_rule_evaluation_failures_total{rule_group="always"} 0.0' in exposition
    assert (tmp_path / "data" / "rules-state.json").exists()


async def test_firing_alert_survives_a_restart(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """An alert saved as firing a minute ago is firing as soon as the component starts."""
    (tmp_path / "rules.yml").write_text(RULES.replace("labels:", "for: 20m\n        labels:", 1))
    config = Config(
        path=str(tmp_path / "aiwatch.yml"),
        rule_files=("rules.yml",),
        global_=GlobalConfig(evaluation_interval=0.2),
    )
    now_ms = round(time.time() * 1000)
    saved = SavedAlert(
        group=f"{tmp_path / 'rules.yml'};always",
        rule="AlwaysOn",
        state="firing",
        labels=(("alertname", "AlwaysOn"), ("severity", "page")),
        annotations=(("summary", "value 1"),),
        value=1.0,
        active_at_ms=now_ms - 40 * 60_000,
        fired_at_ms=now_ms - 20 * 60_000,
        keep_firing_since_ms=None,
        saved_at_ms=now_ms - 60_000,
    )
    StateFile(str(tmp_path / "data")).save([saved])
    state = ConfigState(config, Options(storage_path=str(tmp_path / "data")))
    app = make_app(state, components=[rules_web.setup])
    sink = MemorySink()
    app[rules_web.ALERT_SINKS].append(sink)
    server, base = await _serve(aiohttp_server, app)
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"{base}/api/v1/alerts") as response:
                before = (await response.json())["data"]["alerts"]
            for _ in range(50):
                if sink.events:
                    break
                await asyncio.sleep(0.1)
    finally:
        await server.close()
    assert [a["state"] for a in before] == ["firing"]
    assert [(e.state, e.changed) for e in sink.events[:1]] == [("firing", False)]
    assert sink.events[0].active_at == saved.active_at_ms / 1000
