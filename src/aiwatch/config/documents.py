"""One experiment document (as the API receives it) checked as the config file's would be."""

import math
from typing import Any

from aiwatch.config.experiments import build_experiments
from aiwatch.config.load import schema_problems
from aiwatch.config.model import Config, Experiment
from aiwatch.config.yamlpos import Path, format_path

Problems = list[tuple[str, str]]
"""``(JSON path, message)`` pairs, the path from the document's root: ``$.metrics[0].margin``."""


def json_path(path: Path) -> str:
    """``$.metrics[0].margin`` for the path ``("metrics", 0, "margin")``."""
    if not path:
        return "$"
    text = format_path(path)
    return "$" + text if text.startswith("[") else "$." + text


def check_experiment(document: Any, config: Config) -> tuple[Experiment | None, Problems]:
    """The experiment, or None and every problem (by path): the schema's, or when there
    are none the cross-key checks (targets and the PromQL data source are the loaded
    config's)."""
    at: Path = ("experiments", 0)
    problems: list[tuple[Path, str]] = [(at + p, m) for p, m in _not_finite(document, ())]
    problems += schema_problems({"experiments": [document]})
    if problems:
        return None, _relative(problems, at)
    built = build_experiments(
        [document],
        config.targets,
        config.datasource,
        lambda path, message: problems.append((path, message)),
        (),
    )
    if problems:
        return None, _relative(problems, at)
    return built[0], []


def _relative(problems: list[tuple[Path, str]], at: Path) -> Problems:
    out: Problems = []
    for path, message in problems:
        inside = path[len(at) :] if path[: len(at)] == at else path
        item = (json_path(inside), message)
        if item not in out:
            out.append(item)
    return sorted(out)


def _not_finite(value: Any, path: Path) -> list[tuple[Path, str]]:
    """JSON allows no NaN or infinity, but Python's parser takes them: refuse them here."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(path, f"{value} is not a finite number")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _not_finite(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _not_finite(v, (*path, i))]
    return []
