"""Alert label and annotation templates, expanded as Prometheus expands them.

``expand`` prepends the same ``$labels``/``$externalLabels``/``$externalURL``/``$value``
definitions Prometheus does and renders a failure as ``<error expanding template: …>``.
"""

import functools
from collections.abc import Mapping

from aiwatch.golang.template.exec import execute
from aiwatch.golang.template.funcs import (
    TemplateQuery,
    funcs,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    humanize_timestamp,
)
from aiwatch.golang.template.parse import GoStruct, Node, TemplateError, parse

__all__ = [
    "DEFINITIONS",
    "Expander",
    "TemplateQuery",
    "alert_data",
    "check",
    "expand",
    "funcs",
    "humanize",
    "humanize1024",
    "humanize_duration",
    "humanize_percentage",
    "humanize_timestamp",
]

# The convenience variables Prometheus defines in front of every alert template.
DEFINITIONS = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)

# Parsing only needs to know which function names exist.
_NAMES = funcs()


def alert_data(
    labels: Mapping[str, str],
    external_labels: Mapping[str, str],
    external_url: str,
    value: float,
) -> GoStruct:
    """What ``.`` is in an alert template."""
    return GoStruct(
        "struct { Labels map[string]string; ExternalLabels map[string]string; "
        "ExternalURL string; Value float64 }",
        {
            "Labels": dict(labels),
            "ExternalLabels": dict(external_labels),
            "ExternalURL": external_url,
            "Value": value,
        },
    )


def check(text: str, *, alert_name: str) -> str | None:
    """The parse error Prometheus reports for an alert template, or None."""
    nodes = _parsed("__alert_" + alert_name, DEFINITIONS + text)
    return nodes if isinstance(nodes, str) else None


@functools.lru_cache(maxsize=4096)
def _parsed(name: str, full: str) -> list[Node] | str:
    """Parse once per distinct template: the nodes, or the parse error's message."""
    try:
        return parse(full, name=name, funcs=_NAMES)
    except TemplateError as err:
        return str(err)


class Expander:
    """Expands the templates of one rule at one evaluation (functions bound once)."""

    def __init__(
        self,
        *,
        alert_name: str,
        external_labels: Mapping[str, str],
        external_url: str = "",
        t_ms: int = 0,
        query: TemplateQuery | None = None,
    ) -> None:
        self.name = "__alert_" + alert_name
        self.external_labels, self.external_url = external_labels, external_url
        self.table = funcs(t_ms=t_ms, query=query, external_url=external_url)

    def expand(self, text: str, *, labels: Mapping[str, str], value: float) -> str:
        """Expand one alert label or annotation; a failure is rendered, never raised."""
        if "{{" not in text:
            return text
        full = DEFINITIONS + text
        nodes = _parsed(self.name, full)
        if isinstance(nodes, str):
            return f"<error expanding template: error parsing template {self.name}: {nodes}>"
        data = alert_data(labels, self.external_labels, self.external_url, value)
        try:
            return execute(nodes, text=full, name=self.name, funcs=self.table, data=data)
        except (TemplateError, RecursionError) as err:
            return f"<error expanding template: error executing template {self.name}: {err}>"


def expand(
    text: str,
    *,
    alert_name: str,
    labels: Mapping[str, str],
    value: float,
    external_labels: Mapping[str, str],
    external_url: str = "",
    t_ms: int = 0,
    query: TemplateQuery | None = None,
) -> str:
    """Expand one alert label or annotation; a failure is rendered, never raised."""
    expander = Expander(
        alert_name=alert_name,
        external_labels=external_labels,
        external_url=external_url,
        t_ms=t_ms,
        query=query,
    )
    return expander.expand(text, labels=labels, value=value)
