"""Everything a user can type or scrape is documented: config keys, commands, metrics."""

import argparse
import re
from pathlib import Path
from typing import Any

from aiwatch import metrics
from aiwatch.cli import build_parser
from aiwatch.config import schema

REPO = Path(__file__).resolve().parents[2]


def schema_paths() -> list[str]:
    doc = schema()
    defs = doc["$defs"]
    out: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        if node.get("type") == "object" and "properties" in node:
            for key, child in node["properties"].items():
                child_path = f"{path}.{key}" if path else key
                out.append(child_path)
                walk(child, child_path)
        elif node.get("type") == "array" and "items" in node:
            walk(node["items"], path + "[]")

    walk(doc, "")
    return out


def commands(parser: argparse.ArgumentParser, prefix: str = "aiwatch") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found += commands(sub, f"{prefix} {name}")
    return found


def test_every_config_key_is_in_the_reference() -> None:
    """docs/configuration.md names every key of the config schema, by its full path."""
    text = (REPO / "docs" / "configuration.md").read_text()
    missing = [p for p in schema_paths() if f"`{p}`" not in text]
    assert len(schema_paths()) > 90
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    """The README's command table names every command and subcommand of the CLI."""
    text = (REPO / "README.md").read_text()
    found = commands(build_parser())
    assert "aiwatch check config" in found
    missing = [c for c in found if c not in text]
    assert missing == []


def test_every_metric_is_in_the_metrics_doc() -> None:
    """docs/metrics.md names every metric defined in aiwatch.metrics."""
    text = (REPO / "docs" / "metrics.md").read_text()
    defined = [m for m in vars(metrics).values() if isinstance(m, metrics.MetricDef)]
    assert len(defined) > 30
    missing = [m.name for m in defined if not re.search(rf"\b{m.name}", text)]
    assert missing == []
