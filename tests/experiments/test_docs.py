"""docs/experiments.md documents every route, source, probe field, action, flag and metric."""

import json
from importlib import resources
from pathlib import Path

import pytest

from aiwatch import metrics
from aiwatch.experiments.lifecycle import ACTIONS
from aiwatch.incidents.cli import PASSWORD_ENV

DOC = (Path(__file__).parents[2] / "docs" / "experiments.md").read_text(encoding="utf-8")
SCHEMA = json.loads(resources.files("aiwatch.config").joinpath("schema.json").read_text())
METRIC = SCHEMA["$defs"]["metric"]["properties"]

NAMES = [
    "GET /api/v1/experiments",
    "GET /api/v1/experiments/{name}",
    "POST /api/v1/experiments/{name}/observations",
    *(f"POST /api/v1/experiments/{{name}}/{action}" for action in ACTIONS),
    *(f"source: {source}" for source in METRIC["source"]["enum"]),
    *(f"kind: {kind}" for kind in METRIC["kind"]["enum"]),
    *METRIC["field"]["enum"],
    "POST /api/v1/experiments",
    "PATCH /api/v1/experiments/{name}",
    "DELETE /api/v1/experiments/{name}",
    "POST /api/v1/experiments/{name}/switch",
    "GET /api/v1/experiments/{name}/verdict",
    "aiwatch experiments list",
    "aiwatch experiments show",
    "aiwatch experiments create FILE.yml",
    *(f"aiwatch experiments {c} NAME" for c in ("start", "pause", "stop", "switch", "delete")),
    "aiwatch experiments verdict NAME",
    "--url",
    "--user",
    "--password-file",
    "--ca-file",
    "-o json",
    f"${PASSWORD_ENV}",
    "$variant",
    "$__range",
    *(
        d.name
        for d in vars(metrics).values()
        if isinstance(d, metrics.MetricDef) and d.name.startswith("aiwatch_experiment_")
    ),
]


@pytest.mark.parametrize("name", NAMES)
def test_name_is_documented(name: str) -> None:
    """Each user-facing name appears in docs/experiments.md as code."""
    assert f"`{name}" in DOC
