"""Building experiment configs for the tests."""

from typing import Any

from aiwatch.config.build import build_config
from aiwatch.config.model import Config, Experiment


def experiment_config(
    experiments: list[dict[str, Any]], *, targets: list[dict[str, Any]] | None = None, **top: Any
) -> Config:
    """A ``Config`` from documents, failing on any cross-key problem the builder reports."""
    problems: list[str] = []
    doc = {"targets": targets or [], "experiments": experiments, **top}
    config = build_config(doc, "test.yml", lambda path, msg: problems.append(f"{path}: {msg}"))
    assert not problems, problems
    return config


def rating_experiment(**overrides: Any) -> Experiment:
    """Two variants, a mean, a proportion and a ratio metric fed by observations."""
    doc: dict[str, Any] = {
        "name": "prompts",
        "control": "a",
        "variants": [{"name": "a"}, {"name": "b"}],
        "metrics": [
            {"name": "rating", "source": "observations", "kind": "mean"},
            {"name": "thumbs_up", "source": "observations", "kind": "proportion"},
            {"name": "cost_per_token", "source": "observations", "kind": "ratio"},
        ],
        "min_samples": 10,
        **overrides,
    }
    return experiment_config([doc]).experiments[0]
