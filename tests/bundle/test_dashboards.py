"""Structural checks of the bundled Grafana dashboards and their provisioning."""

from collections import Counter
from typing import Any

import promql_parser
import pytest
import yaml

from tests.bundle.grafana import (
    BUILTINS,
    DASHBOARDS,
    REPO,
    label_values_query,
    load_dashboards,
    panel_queries,
    panels,
    provisioned_datasource_uids,
    substitute,
    used_variables,
    variable_query,
    variables,
)

DASHBOARD_FILES = sorted(load_dashboards().items())
MIN_SCHEMA_VERSION = 39  # Grafana 10.4 / 11
PANEL_TYPES = {"timeseries", "stat", "bargauge", "table", "gauge", "row", "text", "state-timeline"}
IDS = [name for name, _ in DASHBOARD_FILES]
VARIABLE_TYPES = {"query", "adhoc", "constant", "datasource", "interval", "textbox", "custom"}


def test_three_dashboards_with_unique_uids_and_titles() -> None:
    """The bundle ships the endpoints, incidents and experiments dashboards, uniquely named."""
    dashboards = dict(DASHBOARD_FILES)
    assert set(dashboards) == {"ai-endpoints.json", "incidents-alerts.json", "experiments.json"}
    uids = [d["uid"] for d in dashboards.values()]
    titles = [d["title"] for d in dashboards.values()]
    assert len(set(uids)) == 3
    assert len(set(titles)) == 3
    # Grafana's dashboard kind: "uid: string (8-40)".
    assert all(isinstance(u, str) and 8 <= len(u) <= 40 for u in uids)


@pytest.mark.parametrize(("name", "dashboard"), DASHBOARD_FILES, ids=IDS)
def test_dashboard_schema_version_is_current(name: str, dashboard: dict[str, Any]) -> None:
    """Each dashboard declares a current schemaVersion and the top-level fields Grafana needs."""
    assert dashboard["schemaVersion"] >= MIN_SCHEMA_VERSION, name
    for key in ("title", "uid", "panels", "templating", "time", "annotations"):
        assert key in dashboard, f"{name}: no {key}"
    assert "id" not in dashboard or dashboard["id"] is None, "provisioned dashboards carry no id"
    assert dashboard["graphTooltip"] in (0, 1, 2)
    assert isinstance(dashboard["editable"], bool)
    assert isinstance(dashboard["time"]["from"], str)
    assert isinstance(dashboard["time"]["to"], str)
    for variable in variables(dashboard):
        assert variable["type"] in VARIABLE_TYPES, variable["name"]
        if variable["type"] == "query":
            assert variable["refresh"] in (0, 1, 2), variable["name"]
    for panel in panels(dashboard):
        if panel["type"] != "row":
            assert {"defaults", "overrides"} <= panel["fieldConfig"].keys(), panel["id"]
            assert all(isinstance(t["refId"], str) for t in panel["targets"]), panel["id"]


@pytest.mark.parametrize(("name", "dashboard"), DASHBOARD_FILES, ids=IDS)
def test_panels_have_unique_ids_and_a_grid_position(name: str, dashboard: dict[str, Any]) -> None:
    """Panel ids are unique integers; each panel has a gridPos inside the 24 columns, no overlap."""
    all_panels = list(panels(dashboard))
    assert all_panels, name
    ids = Counter(p.get("id") for p in all_panels)
    assert all(isinstance(i, int) for i in ids), f"{name}: non-integer panel id"
    assert [i for i, n in ids.items() if n > 1] == [], f"{name}: duplicate panel ids"
    cells: dict[tuple[int, int], int] = {}
    for panel in all_panels:
        assert panel["type"] in PANEL_TYPES, f"{name}: panel {panel['id']} type {panel['type']}"
        assert panel.get("title"), f"{name}: panel {panel['id']} has no title"
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= grid.keys(), f"{name}: panel {panel['id']} gridPos"
        assert all(isinstance(grid[k], int) and grid[k] >= 0 for k in "hwxy")
        assert grid["w"] > 0
        assert grid["h"] > 0
        assert grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                other = cells.setdefault((x, y), panel["id"])
                assert other == panel["id"], f"{name}: panels {other} and {panel['id']} overlap"


def _datasource_ok(ref: Any, defined: set[str], provisioned: set[str]) -> bool:
    if not isinstance(ref, dict) or ref.get("type") != "prometheus":
        return False
    uid = str(ref.get("uid", ""))
    names = used_variables(uid)
    if names:
        return names <= defined
    return uid in provisioned


@pytest.mark.parametrize(("name", "dashboard"), DASHBOARD_FILES, ids=IDS)
def test_every_datasource_reference_resolves(name: str, dashboard: dict[str, Any]) -> None:
    """Panels, their queries and query variables use the provisioned uid or a defined
    datasource variable of type prometheus."""
    provisioned = provisioned_datasource_uids()
    assert provisioned == {"prometheus"}
    ds_vars = {
        v["name"]
        for v in variables(dashboard)
        if v["type"] == "datasource" and v.get("query") == "prometheus"
    }
    for panel in panels(dashboard):
        if panel["type"] in ("row", "text"):
            continue
        where = f"{name}: panel {panel['id']}"
        assert _datasource_ok(panel.get("datasource"), ds_vars, provisioned), where
        assert panel.get("targets"), f"{where} has no queries"
        for target in panel["targets"]:
            assert _datasource_ok(target.get("datasource"), ds_vars, provisioned), where
    for variable in variables(dashboard):
        if variable["type"] == "query":
            assert _datasource_ok(variable.get("datasource"), ds_vars, provisioned), variable
    current = {v["name"]: v for v in variables(dashboard)}.get("datasource")
    if current is not None:
        assert current["current"]["value"] in provisioned


@pytest.mark.parametrize(("name", "dashboard"), DASHBOARD_FILES, ids=IDS)
def test_every_variable_used_is_defined_before_use(name: str, dashboard: dict[str, Any]) -> None:
    """Queries use only defined template variables (or Grafana's built-in ones), and a
    variable's own query uses only variables defined before it."""
    defined: list[str] = []
    for variable in variables(dashboard):
        assert variable["name"] not in defined, f"{name}: variable {variable['name']} twice"
        if variable["type"] == "query":
            missing = used_variables(variable_query(variable)) - set(defined)
            assert not missing, f"{name}: variable {variable['name']} uses {missing}"
        defined.append(variable["name"])
    allowed = set(defined) | set(BUILTINS)
    for query in panel_queries(name, dashboard):
        assert query.expr.strip(), f"{query}: empty"
        missing = used_variables(query.expr) - allowed
        assert not missing, f"{query}: undefined {missing}"


@pytest.mark.parametrize(("name", "dashboard"), DASHBOARD_FILES, ids=IDS)
def test_queries_parse_as_promql(name: str, dashboard: dict[str, Any]) -> None:
    """With variables substituted, every panel and variable query is valid PromQL, and each
    panel's queries have distinct refIds."""
    values = dict(BUILTINS) | {v["name"]: ".*" for v in variables(dashboard)}
    for panel in panels(dashboard):
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), f"{name}: panel {panel['id']} duplicate refIds"
    for query in panel_queries(name, dashboard):
        promql_parser.parse(substitute(query.expr, values))
    for variable in variables(dashboard):
        if variable["type"] == "query":
            selector, _ = label_values_query(substitute(variable_query(variable), values))
            if selector:
                promql_parser.parse(selector)


def test_template_variables_for_feature_target_and_experiment() -> None:
    """Endpoints are filtered by feature and target, experiments by experiment."""
    dashboards = dict(DASHBOARD_FILES)
    endpoint_vars = {v["name"] for v in variables(dashboards["ai-endpoints.json"])}
    experiment_vars = {v["name"] for v in variables(dashboards["experiments.json"])}
    assert {"datasource", "feature", "target"} <= endpoint_vars
    assert {"datasource", "experiment"} <= experiment_vars


def test_dashboard_provisioning_points_at_the_mounted_dashboards() -> None:
    """The dashboards provider reads the folder docker-compose mounts grafana/dashboards on."""
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/aiwatch.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./{DASHBOARDS.relative_to(REPO)}:{path}:ro" in mounts


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    raise ValueError(duration)


@pytest.mark.parametrize(("name", "dashboard"), DASHBOARD_FILES, ids=IDS)
def test_rate_windows_hold_enough_scrapes_and_graphs_use_per_point_windows(
    name: str, dashboard: dict[str, Any]
) -> None:
    """A `[$__interval]` window only holds the two samples rate()/increase() need when the
    panel's minimum interval is at least four scrape intervals (otherwise short time ranges
    draw nothing); and a graph over time never uses `[$__range]`, whose every point would
    cover the whole dashboard range."""
    datasources = yaml.safe_load(
        (REPO / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"]
    scrape = _seconds(datasources[0]["jsonData"]["timeInterval"])
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            if "[$__interval]" in expr:
                assert "interval" in panel, (name, panel["title"])
                assert _seconds(panel["interval"]) >= 4 * scrape, (name, panel["title"])
            if panel["type"] == "timeseries":
                assert "[$__range]" not in expr, (name, panel["title"])
