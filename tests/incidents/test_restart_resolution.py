"""An incident whose alert did not come back after a restart is resolved, not left open."""

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web

from aiwatch.app.build import COMPONENTS, make_app
from aiwatch.app.keys import INCIDENT_STORE
from aiwatch.config import load_config
from aiwatch.incidents.lifecycle import Incident
from aiwatch.incidents.records import Query
from aiwatch.runtime import ConfigState, Options

FIRING = (
    "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
    "      - alert: AlwaysFiring\n        expr: vector(1)\n"
)
OTHER = (
    "groups:\n  - name: h\n    interval: 1s\n    rules:\n"
    "      - alert: NeverFiring\n        expr: vector(1) == 2\n"
)


async def _run_until(tmp_path: Path, rules: str, done: str) -> list[Incident]:
    """Run the daemon's app on ``rules`` until an incident is ``done``; its incidents."""
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(rules)
    config_file = tmp_path / "aiwatch.yml"
    config_file.write_text(f"targets: []\nrule_files: ['{rule_file}']\n")
    state = ConfigState(load_config(str(config_file)), Options(storage_path=str(tmp_path / "data")))
    app = make_app(state, components=COMPONENTS)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        store = app[INCIDENT_STORE]
        for _ in range(100):
            found = await store.find(Query())
            if any(i.state == done for i in found):
                return found
            await asyncio.sleep(0.05)
        return await store.find(Query())
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("rules_after", [OTHER, "groups: []\n"], ids=["other-group", "no-rules"])
async def test_incident_of_a_rule_removed_while_stopped_resolves_at_start(
    tmp_path: Path, rules_after: str
) -> None:
    """The rule was deleted between two runs: the restart resolves its incident (by the rule)."""
    [opened] = await _run_until(tmp_path, FIRING, "firing")
    assert (opened.alertname, opened.state) == ("AlwaysFiring", "firing")
    [after] = await _run_until(tmp_path, rules_after, "resolved")
    assert (after.id, after.state, after.resolved_by) == (opened.id, "resolved", "rule")


async def test_incident_of_an_alert_too_old_to_restore_resolves_at_start(tmp_path: Path) -> None:
    """Down longer than the outage tolerance (1h) and the alert no longer fires: resolved."""
    [opened] = await _run_until(tmp_path, FIRING, "firing")
    state_file = tmp_path / "data" / "rules-state.json"
    doc = json.loads(state_file.read_text())
    for saved in doc["alerts"]:
        saved["saved_at_ms"] -= 2 * 3600 * 1000
    state_file.write_text(json.dumps(doc))
    stopped = FIRING.replace("expr: vector(1)", "expr: vector(1) == 2")
    [after] = await _run_until(tmp_path, stopped, "resolved")
    assert (after.id, after.state, after.resolved_by) == (opened.id, "resolved", "rule")
