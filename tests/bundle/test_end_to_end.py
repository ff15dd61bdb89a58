"""The bundle end to end: a real Prometheus scrapes a running aiwatch that probes mock-ai.

One scenario runs once for the module: healthy probes, then model ``mock-gpt`` (behind
chat-primary and chat-batch) answers only 500s and chat-candidate's model silently changes.
Then every dashboard query must return data from Prometheus, the live ``/metrics`` must pass
``promtool check metrics``, and the bundled alert rules must fire the same alerts in aiwatch
and in Prometheus.
"""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.bundle.grafana import (
    BUILTINS,
    Query,
    label_values_query,
    load_dashboards,
    panel_queries,
    substitute,
    variable_query,
    variables,
)
from tests.bundle.stack import (
    Stack,
    environment_has_prometheus,
    http_json,
    http_text,
    running_stack,
    wait_for,
)

pytestmark = [
    pytest.mark.skipif(
        not environment_has_prometheus(), reason="needs the Prometheus binary /usr/bin/prometheus"
    ),
    pytest.mark.slow,
    # Prometheus, Alertmanager, aiwatch and mock-ai start (and settle) inside the first test.
    pytest.mark.timeout(600),
]

DEGRADED_TARGETS = {"chat-primary", "chat-batch"}
SWAPPED_TARGET = "chat-candidate"


@dataclass
class Outcome:
    """What the scenario saw, for the tests to judge."""

    stack: Stack
    queries: dict[Query, list[dict[str, Any]]] = field(default_factory=dict)
    variable_values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    aiwatch_alerts: set[tuple[str, frozenset[tuple[str, str]]]] | None = None
    prometheus_alerts: set[tuple[str, frozenset[tuple[str, str]]]] = field(default_factory=set)
    alertmanager_alerts: list[dict[str, Any]] | None = None
    metrics_text: str = ""
    notes: list[str] = field(default_factory=list)


def _firing(alerts: list[dict[str, Any]]) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    return {
        (a["labels"]["alertname"], frozenset(a["labels"].items()))
        for a in alerts
        if a["state"] == "firing"
    }


def _aiwatch_alerts(stack: Stack) -> set[tuple[str, frozenset[tuple[str, str]]]] | None:
    try:
        answer = http_json(f"{stack.aiwatch_url}/api/v1/alerts")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise
    return _firing(answer["data"]["alerts"])


def _prometheus_alerts(stack: Stack) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    return _firing(http_json(f"{stack.prometheus_url}/api/v1/alerts")["data"]["alerts"])


def _expected_alerts_fired(alerts: set[tuple[str, frozenset[tuple[str, str]]]] | None) -> bool:
    if not alerts:
        return False
    down = {dict(labels)["target"] for name, labels in alerts if name == "AIEndpointDown"}
    swapped = {
        dict(labels)["target"] for name, labels in alerts if name == "AIEndpointModelChanged"
    }
    return down == DEGRADED_TARGETS and swapped == {SWAPPED_TARGET}


def _alertmanager_has_down_alerts(stack: Stack) -> list[dict[str, Any]] | None:
    alerts: list[dict[str, Any]] = http_json(f"{stack.alertmanager_url}/api/v2/alerts")
    down = {
        a["labels"].get("target") for a in alerts if a["labels"]["alertname"] == "AIEndpointDown"
    }
    return alerts if down == DEGRADED_TARGETS else None


def _feed_experiments(stack: Stack, outcome: Outcome) -> None:
    """Observations for the experiments' observation metrics (ratings from 1 to 5)."""
    feeds = {
        "captions-model-v2": [("current", [4, 3, 4, 5, 3, 4]), ("candidate", [5, 4, 5, 4, 5, 4])],
        "reply-style": [("plain", [3, 4, 3, 3, 4, 3]), ("friendly", [4, 5, 4, 4, 5, 5])],
    }
    for experiment, arms in feeds.items():
        body = [
            {"variant": variant, "metric": "user_rating", "value": value}
            for variant, values in arms
            for value in values * 5
        ]
        url = f"{stack.aiwatch_url}/api/v1/experiments/{experiment}/observations"
        try:
            http_json(url, method="POST", body=body)
        except urllib.error.HTTPError as err:
            outcome.notes.append(f"POST {url}: HTTP {err.code}")


def _work_incidents(stack: Stack, outcome: Outcome) -> None:
    """Acknowledge one open incident and resolve another, so MTTA and MTTR have data."""
    try:
        listed = http_json(f"{stack.aiwatch_url}/api/v1/incidents?state=firing")["data"]
    except urllib.error.HTTPError as err:
        outcome.notes.append(f"GET /api/v1/incidents: HTTP {err.code}")
        return
    incidents = listed if isinstance(listed, list) else listed.get("incidents", [])
    if len(incidents) < 2:
        outcome.notes.append(f"only {len(incidents)} firing incidents to work on")
        return
    base = f"{stack.aiwatch_url}/api/v1/incidents"
    who = {"by": "e2e", "comment": "looking"}
    http_json(f"{base}/{incidents[0]['id']}/acknowledge", method="POST", body=who)
    http_json(f"{base}/{incidents[1]['id']}/resolve", method="POST", body=who)


def _resolve_variables(
    stack: Stack, dashboard: dict[str, Any]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each template variable's real values from Prometheus, joined as Grafana joins a
    multi-value selection of all of them (``a|b|c``); also the values as lists."""
    values = dict(BUILTINS)
    found: dict[str, list[str]] = {}
    for variable in variables(dashboard):
        if variable["type"] != "query":
            continue
        selector, label = label_values_query(substitute(variable_query(variable), values))
        series = stack.query(f"count by ({label}) ({selector})")
        found[variable["name"]] = sorted(s["metric"][label] for s in series if label in s["metric"])
        values[variable["name"]] = "|".join(found[variable["name"]]) or "no-values"
    return values, found


def _run_queries(stack: Stack, outcome: Outcome) -> list[Query]:
    """Run every panel query; the ones that returned nothing."""
    empty = []
    for name, dashboard in load_dashboards().items():
        values, outcome.variable_values[name] = _resolve_variables(stack, dashboard)
        for query in panel_queries(name, dashboard):
            result = stack.query(substitute(query.expr, values))
            outcome.queries[query] = result
            if not result:
                empty.append(query)
    return empty


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """Run the scenario once against real processes."""
    with running_stack(tmp_path_factory.mktemp("e2e")) as stack:
        result = Outcome(stack=stack)
        healthy = wait_for(
            lambda: stack.query(
                "target_quantile:aiwatch_probe_time_per_output_token_seconds:"
                "histogram_quantile_rate5m > 0"
            ),
            timeout=40,
        )
        assert healthy, "no healthy probe data in Prometheus\n" + stack.logs()
        _feed_experiments(stack, result)
        http_json(
            f"{stack.mock_url}/_mock/behavior?model=mock-gpt", method="POST", body={"status": 500}
        )
        http_json(
            f"{stack.mock_url}/_mock/behavior?model=mock-gpt-mini",
            method="POST",
            body={"model": "mock-gpt-mini-2025", "system_fingerprint": "fp_new"},
        )
        wait_for(lambda: _expected_alerts_fired(_prometheus_alerts(stack)), timeout=40)
        if _aiwatch_alerts(stack) is None:
            result.notes.append("aiwatch serves no /api/v1/alerts: rules not in the daemon")
        else:
            # Both evaluate every second; give them a moment to agree.
            wait_for(
                lambda: (
                    _expected_alerts_fired(_aiwatch_alerts(stack))
                    and _aiwatch_alerts(stack) == _prometheus_alerts(stack)
                ),
                timeout=30,
            )
        result.aiwatch_alerts = _aiwatch_alerts(stack)
        result.prometheus_alerts = _prometheus_alerts(stack)
        if stack.alertmanager_url:
            result.alertmanager_alerts = wait_for(
                lambda: _alertmanager_has_down_alerts(stack), timeout=20
            ) or http_json(f"{stack.alertmanager_url}/api/v2/alerts")
        _work_incidents(stack, result)
        deadline = time.monotonic() + 30
        while _run_queries(stack, result) and time.monotonic() < deadline:
            time.sleep(1)
        result.metrics_text = http_text(f"{stack.aiwatch_url}/metrics")
        write_report(result, stack.workdir / "report.txt")
        yield result


def test_every_dashboard_query_returns_data(outcome: Outcome) -> None:
    """Every query of every panel of the three dashboards, with its template variables set
    to the values Prometheus has, returns at least one series."""
    assert outcome.queries
    empty = [str(q) for q, result in outcome.queries.items() if not result]
    assert empty == [], "\n".join([*empty, *outcome.notes, outcome.stack.logs()])


def test_every_template_variable_has_values(outcome: Outcome) -> None:
    """The feature, target, experiment and metric variables list real values."""
    found = outcome.variable_values
    assert {"photo-captions", "search", "support-summaries", "gateway"} <= set(
        found["ai-endpoints.json"]["feature"]
    )
    assert "chat-primary" in found["ai-endpoints.json"]["target"]
    assert set(found["experiments.json"]["experiment"]) == {
        "captions-model-v2",
        "captions-model-v2-bayesian",
        "reply-style",
    }
    assert "user_rating" in found["experiments.json"]["metric"]


def _aiwatch_variables(stack: Stack, dashboard: dict[str, Any]) -> dict[str, str]:
    """Each template variable's values from aiwatch's label-values API, as Grafana asks."""
    values = dict(BUILTINS)
    for variable in variables(dashboard):
        if variable["type"] != "query":
            continue
        selector, label = label_values_query(substitute(variable_query(variable), values))
        query = urllib.parse.urlencode({"match[]": selector} if selector else {})
        found = http_json(f"{stack.aiwatch_url}/api/v1/label/{label}/values?{query}")["data"]
        values[variable["name"]] = "|".join(found) or "no-values"
    return values


def _promtool_query(stack: Stack, query: Query, expr: str) -> list[dict[str, Any]]:
    """The query through ``promtool query`` at aiwatch: instant, or range over 5 minutes."""
    now = time.time()
    args = ["instant", stack.aiwatch_url, expr]
    if not query.instant:
        args = ["range", stack.aiwatch_url, expr, f"--start={now - 300:.3f}", f"--end={now:.3f}"]
        args.append("--step=15s")
    done = subprocess.run(
        ["promtool", "query", "-o", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{query}: {done.stderr}"
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_every_dashboard_query_returns_data_from_aiwatch_alone(outcome: Outcome) -> None:
    """With aiwatch as the only data source (no Prometheus), every template variable has
    values and every panel query returns data through ``promtool query`` (range queries for
    graphs, instant ones where the panel asks for them)."""
    stack = outcome.stack
    deadline = time.monotonic() + 30
    while True:
        empty = []
        for name, dashboard in load_dashboards().items():
            values = _aiwatch_variables(stack, dashboard)
            empty += [f"{name}: ${v}" for v, found in values.items() if found == "no-values"]
            for query in panel_queries(name, dashboard):
                if not _promtool_query(stack, query, substitute(query.expr, values)):
                    empty.append(str(query))
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert empty == [], "\n".join([*empty, stack.logs()])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_live_metrics_pass_promtool_check_metrics(outcome: Outcome) -> None:
    """`promtool check metrics` reports no problem with aiwatch's live /metrics."""
    assert "aiwatch_probe_success" in outcome.metrics_text
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=outcome.metrics_text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_prometheus_fires_the_bundled_alerts_for_the_degradation(outcome: Outcome) -> None:
    """Prometheus, running the bundled alerts.yml, fires AIEndpointDown for exactly the
    targets behind the failing model and AIEndpointModelChanged for the swapped one."""
    assert _expected_alerts_fired(outcome.prometheus_alerts), outcome.prometheus_alerts


def test_aiwatch_and_prometheus_fire_the_same_alerts(outcome: Outcome) -> None:
    """The same alerts.yml in aiwatch's rule_files fires the same alerts, with the same
    labels, as in Prometheus."""
    if outcome.aiwatch_alerts is None:
        pytest.skip("the rules engine is not wired into the daemon (no /api/v1/alerts)")
    assert _expected_alerts_fired(outcome.aiwatch_alerts), outcome.aiwatch_alerts
    only_aiwatch = sorted(outcome.aiwatch_alerts - outcome.prometheus_alerts)
    only_prometheus = sorted(outcome.prometheus_alerts - outcome.aiwatch_alerts)
    assert (only_aiwatch, only_prometheus) == ([], [])


def test_prometheus_delivers_the_alerts_to_alertmanager(outcome: Outcome) -> None:
    """Prometheus sends the firing alerts to the Alertmanager its bundled config names, and
    Alertmanager, with the bundled alertmanager.yml, accepts them with their labels."""
    if outcome.alertmanager_alerts is None:
        pytest.skip("needs the Alertmanager binary /usr/bin/prometheus-alertmanager")
    received = {
        (a["labels"]["alertname"], a["labels"].get("target"), a["labels"].get("monitor"))
        for a in outcome.alertmanager_alerts
    }
    for target in DEGRADED_TARGETS:
        assert ("AIEndpointDown", target, "aiwatch") in received, received
    assert ("AIEndpointModelChanged", SWAPPED_TARGET, "aiwatch") in received, received


def _is_nan(series: dict[str, Any]) -> bool:
    value = series.get("value") or [None, "0"]
    return str(value[1]).lower() == "nan"


def write_report(outcome: Outcome, path: Path) -> None:
    """Which queries returned how many series, and the alerts seen (next to the temp files)."""
    lines = [
        f"{len(r):3d} series {sum(_is_nan(s) for s in r):3d} NaN  {q}"
        for q, r in outcome.queries.items()
    ]
    for source, alerts in (
        ("aiwatch", outcome.aiwatch_alerts),
        ("prometheus", outcome.prometheus_alerts),
    ):
        lines.extend(
            f"{source} firing: {name} {dict(sorted(labels))}"
            for name, labels in sorted(alerts or ())
        )
    path.write_text("\n".join([*lines, *outcome.notes]) + "\n")
