"""The bundled Grafana dashboards as data: their panels, queries and template variables."""

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "grafana" / "dashboards"
DATASOURCES = REPO / "grafana" / "provisioning" / "datasources"

# Grafana's global variables the dashboards may use, and what the end-to-end test puts in
# their place (a Prometheus duration for the range ones).
BUILTINS = {"__rate_interval": "1m", "__range": "5m", "__interval": "15s"}
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


@dataclass(frozen=True)
class Query:
    """One query of one panel (or of a template variable) of one dashboard."""

    dashboard: str
    panel: str
    ref: str
    expr: str
    instant: bool

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}: {self.expr}"


def load_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON of ``grafana/dashboards``, by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def provisioned_datasource_uids() -> set[str]:
    """The uids of the data sources Grafana's provisioning creates."""
    uids = set()
    for path in DATASOURCES.glob("*.yml"):
        for source in yaml.safe_load(path.read_text()).get("datasources", []):
            uids.add(source["uid"])
    return uids


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def variables(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's template variables, in their order."""
    found: list[dict[str, Any]] = dashboard.get("templating", {}).get("list", [])
    return found


def variable_query(variable: Mapping[str, Any]) -> str:
    """The PromQL-ish query text of a ``query`` variable (``label_values(...)`` etc.)."""
    query = variable.get("query")
    if isinstance(query, Mapping):
        return str(query.get("query", ""))
    return str(query or variable.get("definition", ""))


def panel_queries(name: str, dashboard: Mapping[str, Any]) -> list[Query]:
    """Every query of every panel of one dashboard."""
    out = []
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            out.append(
                Query(
                    dashboard=name,
                    panel=f"{panel.get('id')} {panel.get('title', '')}",
                    ref=target.get("refId", ""),
                    expr=target.get("expr", ""),
                    instant=bool(target.get("instant")) and not target.get("range"),
                )
            )
    return out


def used_variables(text: str) -> set[str]:
    """Names of the ``$var`` / ``${var}`` / ``${var:format}`` references in ``text``."""
    return {a or b for a, b in VARIABLE.findall(text)}


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace every variable reference with its value (a KeyError names a missing one)."""
    return VARIABLE.sub(lambda m: values[m.group(1) or m.group(2)], text)


LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$"
)


def label_values_query(text: str) -> tuple[str, str]:
    """``label_values(selector, label)`` as (selector, label); the selector may be empty."""
    match = LABEL_VALUES.match(text)
    if match is None:
        msg = f"not a label_values() query: {text!r}"
        raise ValueError(msg)
    return match.group("selector") or "", match.group("label")
