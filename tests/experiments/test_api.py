"""The experiments API and metrics over HTTP, on a real server and a real SQLite file."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from aiwatch.config import load_config

from .conftest import daemon_app

EXPERIMENT: dict[str, Any] = {
    "name": "prompts",
    "hypothesis": "the short prompt is rated higher",
    "control": "long",
    "variants": [{"name": "long"}, {"name": "short"}],
    "metrics": [
        {"name": "rating", "source": "observations", "kind": "mean"},
        {"name": "thumbs_up", "source": "observations", "kind": "proportion"},
    ],
    "min_samples": 5,
}


def write(path: Path, experiments: list[dict[str, Any]]) -> Path:
    """Write a config with these experiments."""
    path.write_text(yaml.safe_dump({"experiments": experiments}, sort_keys=False))
    return path


Client = Callable[..., Any]


@pytest.fixture
async def api(tmp_path: Path, aiohttp_client: Client) -> TestClient[Any, Any]:
    """The daemon's app with probes and experiments, on 127.0.0.1."""
    config = load_config(str(write(tmp_path / "aiwatch.yml", [EXPERIMENT])))
    app = daemon_app(config, tmp_path / "data")
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def _json(response: Any, status: int) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def test_experiment_document_has_the_spec_shape(api: TestClient[Any, Any]) -> None:
    """GET /api/v1/experiments/{name}: its keys, the state, and a row per variant × metric."""
    body = await _json(await api.get("/api/v1/experiments/prompts"), 200)
    data = body["data"]
    assert body["status"] == "success"
    assert {
        "name",
        "state",
        "method",
        "difference",
        "srm_p_value",
        "srm",
        "verdict",
        "results",
    } <= set(data)
    assert data["state"] == "running"
    assert data["hypothesis"] == "the short prompt is rated higher"
    assert [(r["metric"], r["variant"]) for r in data["results"]] == [
        ("rating", "long"),
        ("rating", "short"),
        ("thumbs_up", "long"),
        ("thumbs_up", "short"),
    ]
    assert set(data["results"][1]) == {
        "metric",
        "variant",
        "n",
        "mean",
        "lift",
        "ci",
        "p_value",
        "adjusted_p_value",
        "chance_to_win",
        "risk",
        "significant",
        "guard",
    }
    assert data["results"][1]["guard"] == "n_below_2"
    listing = await _json(await api.get("/api/v1/experiments"), 200)
    assert [d["name"] for d in listing["data"]] == ["prompts"]


async def test_unknown_experiment_is_404(api: TestClient[Any, Any]) -> None:
    """Every experiments route answers 404 not_found for a name that is not configured."""
    for method, path in [
        ("GET", "/api/v1/experiments/nope"),
        ("POST", "/api/v1/experiments/nope/observations"),
        ("POST", "/api/v1/experiments/nope/start"),
    ]:
        body = await _json(await api.request(method, path, json=[]), 404)
        assert body == {
            "status": "error",
            "errorType": "not_found",
            "error": "no configured experiment named 'nope'",
        }


async def test_posted_observations_show_in_results(api: TestClient[Any, Any]) -> None:
    """Raw and pre-aggregated observations are added to the arms and analysed at once."""
    short = [{"variant": "short", "metric": "rating", "value": v} for v in (4, 5, 5, 4, 5, 3)]
    posted = await _json(
        await api.post(
            "/api/v1/experiments/prompts/observations",
            json=[
                *short,
                {"variant": "long", "metric": "rating", "n": 6, "sum": 18, "sum_squares": 56},
            ],
        ),
        200,
    )
    assert posted["data"] == {"accepted": 7, "arms": 2}
    data = (await _json(await api.get("/api/v1/experiments/prompts"), 200))["data"]
    long, short_row = data["results"][0], data["results"][1]
    assert (long["n"], long["mean"]) == (6, 3.0)
    assert (short_row["n"], short_row["mean"]) == (6, pytest.approx(26 / 6))
    assert short_row["lift"] == pytest.approx((26 / 6 - 3) / 3)
    assert short_row["p_value"] is not None
    assert short_row["guard"] is None


async def test_invalid_observations_are_400_naming_each_item(api: TestClient[Any, Any]) -> None:
    """A body with bad items is rejected whole, each problem named with its index."""
    body = await _json(
        await api.post(
            "/api/v1/experiments/prompts/observations",
            json=[
                {"variant": "short", "metric": "rating", "value": 4},
                {"variant": "medium", "metric": "rating", "value": 4},
                {"variant": "short", "metric": "rating", "n": -2, "sum": 0, "sum_squares": 0},
                {"variant": "short", "metric": "rating", "n": 2, "sum": 10, "sum_squares": 1},
            ],
        ),
        400,
    )
    assert body["errorType"] == "bad_data"
    assert body["error"] == (
        "observations[1]: unknown variant 'medium' (variants: long, short); "
        "observations[2]: n must not be negative, got -2; "
        "observations[3]: sum_squares 1 is inconsistent with sum 10 and n 2 "
        "(no real values have sum² > n·sum_squares)"
    )
    data = (await _json(await api.get("/api/v1/experiments/prompts"), 200))["data"]
    assert data["results"][1]["n"] == 0
    bad_json = await _json(
        await api.post("/api/v1/experiments/prompts/observations", data=b"[{"), 400
    )
    assert bad_json["error"].startswith("request body is not valid JSON")


async def test_observations_that_would_overflow_the_arm_are_refused(
    api: TestClient[Any, Any],
) -> None:
    """A post whose values would push an arm's stored sums past the float range is a 400 and
    adds nothing, so the arm keeps being analysed (an infinite sum guarded it forever)."""
    url = "/api/v1/experiments/prompts/observations"
    big = {"variant": "long", "metric": "rating", "value": 1e154}
    await _json(await api.post(url, json=[big]), 200)
    body = await _json(await api.post(url, json=[big]), 400)
    assert body["errorType"] == "bad_data"
    assert "sums of variant 'long' on metric 'rating' would become too large" in body["error"]
    huge = await _json(await api.post(url, json=[{**big, "value": 1e200}]), 400)
    assert "its square is not a finite number" in huge["error"]
    fine = [{"variant": "long", "metric": "rating", "value": 1.0}]
    await _json(await api.post(url, json=fine), 200)
    long = (await _json(await api.get("/api/v1/experiments/prompts"), 200))["data"]["results"][0]
    assert (long["n"], long["guard"]) == (2, None)
    assert long["mean"] == pytest.approx(0.5e154)


async def test_lifecycle_moves_and_illegal_ones_are_409(api: TestClient[Any, Any]) -> None:
    """pause, start, stop move the state; an illegal move is 409 and changes nothing."""
    base = "/api/v1/experiments/prompts"
    conflict = await _json(await api.post(base + "/start"), 409)
    assert conflict["error"] == "cannot start an experiment that is running; allowed: pause, stop"
    assert (await _json(await api.post(base + "/pause"), 200))["data"]["state"] == "paused"
    refused = await _json(
        await api.post(
            base + "/observations", json=[{"variant": "long", "metric": "rating", "value": 1}]
        ),
        409,
    )
    assert "is paused; observations are accepted only while it is running" in refused["error"]
    assert (await _json(await api.post(base + "/start"), 200))["data"]["state"] == "running"
    assert (await _json(await api.post(base + "/stop"), 200))["data"]["state"] == "stopped"
    final = await _json(await api.post(base + "/start"), 409)
    assert (
        final["error"]
        == "cannot start an experiment that is stopped; a stopped experiment is final"
    )
    assert (await _json(await api.get(base), 200))["data"]["state"] == "stopped"
    await _json(await api.post(base + "/restart"), 404)


async def test_reload_keeps_the_data_of_remaining_experiments(
    api: TestClient[Any, Any], tmp_path: Path
) -> None:
    """After a reload that changes the experiment, its observations are still there."""
    await _json(
        await api.post(
            "/api/v1/experiments/prompts/observations",
            json=[{"variant": "short", "metric": "rating", "n": 3, "sum": 12, "sum_squares": 50}],
        ),
        200,
    )
    write(tmp_path / "aiwatch.yml", [{**EXPERIMENT, "alpha": 0.01, "method": "bayesian"}])
    await _json(await api.post("/-/reload"), 200)
    data = (await _json(await api.get("/api/v1/experiments/prompts"), 200))["data"]
    assert data["method"] == "bayesian"
    assert data["results"][1]["n"] == 3


def promtool_check(text: bytes) -> None:
    """Fail unless ``promtool check metrics`` accepts ``text`` without a word."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == b""


async def test_metrics_per_arm_pass_promtool(api: TestClient[Any, Any]) -> None:
    """/metrics has the experiment gauges (a null value has no series) and promtool is silent."""
    values = [4, 5, 5, 4, 5, 3]
    await _json(
        await api.post(
            "/api/v1/experiments/prompts/observations",
            json=[{"variant": "short", "metric": "rating", "value": v} for v in values]
            + [{"variant": "long", "metric": "rating", "value": v - 1} for v in values],
        ),
        200,
    )
    response = await api.get("/metrics")
    text = await response.read()
    promtool_check(text)
    lines = text.decode().splitlines()
    labels = 'experiment="prompts",metric="rating",variant="short"'
    assert f"aiwatch_experiment_samples{{{labels}}} 6.0" in lines
    assert any(line.startswith(f"aiwatch_experiment_relative_lift{{{labels}}} ") for line in lines)
    assert any(line.startswith(f"aiwatch_experiment_p_value{{{labels}}} ") for line in lines)
    assert any(line.startswith(f"aiwatch_experiment_lift_ci_lower{{{labels}}} ") for line in lines)
    assert any(line.startswith(f"aiwatch_experiment_lift_ci_upper{{{labels}}} ") for line in lines)
    guarded = 'experiment="prompts",metric="thumbs_up",variant="short"'
    assert f"aiwatch_experiment_samples{{{guarded}}} 0.0" in lines
    assert not any(line.startswith(f"aiwatch_experiment_p_value{{{guarded}}}") for line in lines)
    guard = 'experiment="prompts",guard="n_below_2",metric="thumbs_up",variant="short"'
    assert f"aiwatch_experiment_guard{{{guard}}} 1.0" in lines
    assert not any(line.startswith(f"aiwatch_experiment_guard{{{labels[:-1]}") for line in lines)
    assert not any("chance_to_win{" in line for line in lines)
    assert any(
        line.startswith('aiwatch_experiment_srm_p_value{experiment="prompts"} ') for line in lines
    )


async def test_a_guard_change_keeps_each_series_of_the_row(api: TestClient[Any, Any]) -> None:
    """The per-row gauges carry exactly the documented experiment, variant and metric labels, so an
    arm whose guard goes from n_below_2 to too_few_samples to none stays one series; the
    guard is the separate aiwatch_experiment_guard series."""
    url = "/api/v1/experiments/prompts/observations"
    row = 'experiment="prompts",metric="rating",variant="short"'
    guard = (
        'aiwatch_experiment_guard{{experiment="prompts",guard="{}",'
        'metric="rating",variant="short"}} 1.0'
    )
    expected_guards = ["n_below_2", "too_few_samples", None]
    families: list[set[str]] = []
    # 1, then 3, then 7 values per arm, with min_samples 5.
    for values, expected in zip(([4], [5, 4], [5, 3, 4, 5]), expected_guards, strict=True):
        body = [{"variant": "short", "metric": "rating", "value": v} for v in values]
        body += [{"variant": "long", "metric": "rating", "value": v - 1} for v in values]
        await _json(await api.post(url, json=body), 200)
        text = await (await api.get("/metrics")).read()
        promtool_check(text)
        lines = text.decode().splitlines()
        families.append({line.split("{")[0] for line in lines if f"{{{row}}} " in line})
        shown = [g for g in expected_guards if g is not None and guard.format(g) in lines]
        assert shown == ([expected] if expected else [])
    assert families[0] == {"aiwatch_experiment_samples"}
    assert {"aiwatch_experiment_samples", "aiwatch_experiment_relative_lift"} <= families[1]
    assert families[1] <= families[2]


async def test_bayesian_metrics_have_chance_to_win_not_p_values(
    api: TestClient[Any, Any], tmp_path: Path
) -> None:
    """Under method: bayesian the chance to win is exported and the p-value series is absent."""
    write(tmp_path / "aiwatch.yml", [{**EXPERIMENT, "method": "bayesian"}])
    await _json(await api.post("/-/reload"), 200)
    values = [4, 5, 5, 4, 5, 3]
    await _json(
        await api.post(
            "/api/v1/experiments/prompts/observations",
            json=[{"variant": "short", "metric": "rating", "value": v} for v in values]
            + [{"variant": "long", "metric": "rating", "value": v - 1} for v in values],
        ),
        200,
    )
    text = await (await api.get("/metrics")).read()
    promtool_check(text)
    lines = text.decode().splitlines()
    labels = 'experiment="prompts",metric="rating",variant="short"'
    assert any(
        line.startswith(f"aiwatch_experiment_chance_to_win{{{labels}}} 0.9") for line in lines
    )
    assert not any(line.startswith("aiwatch_experiment_p_value{") for line in lines)


async def test_samples_needed_for_metrics_with_a_minimum_effect(
    api: TestClient[Any, Any], tmp_path: Path
) -> None:
    """With minimum_effect, /metrics has the samples per arm still needed and the API the power."""
    metrics = [
        {"name": "rating", "source": "observations", "kind": "mean", "minimum_effect": 0.01},
        EXPERIMENT["metrics"][1],
    ]
    write(tmp_path / "aiwatch.yml", [{**EXPERIMENT, "metrics": metrics}])
    await _json(await api.post("/-/reload"), 200)
    values = [4, 5, 5, 4, 5, 3]
    await _json(
        await api.post(
            "/api/v1/experiments/prompts/observations",
            json=[{"variant": "short", "metric": "rating", "value": v} for v in values]
            + [{"variant": "long", "metric": "rating", "value": v - 0.1} for v in values],
        ),
        200,
    )
    data = (await _json(await api.get("/api/v1/experiments/prompts"), 200))["data"]
    [power] = data["power"]
    assert power["samples_needed"] > 0
    text = await (await api.get("/metrics")).read()
    promtool_check(text)
    labels = 'experiment="prompts",metric="rating",variant="short"'
    needed = f"aiwatch_experiment_samples_needed{{{labels}}} {float(power['samples_needed'])}"
    assert needed in text.decode().splitlines()
