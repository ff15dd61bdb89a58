"""Title and body of a notification, from Go templates like rule annotations use."""

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiwatch.config.model import Templates
from aiwatch.golang.template import GoStruct, Node, TemplateError, execute, parse
from aiwatch.golang.template.funcs import (
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
)
from aiwatch.notify.facts import Facts, Kind
from aiwatch.rules.templates import funcs

# The same convenience variables alert annotations have, plus the annotations themselves.
DEFINITIONS = (
    "{{$labels := .Labels}}{{$annotations := .Annotations}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)

DEFAULT_TITLE = (
    "[{{.Status}}] {{.AlertName}} ({{.Severity}}) #{{.ID}}"
    "{{if .Repeat}} reminder {{.Repeat}}{{end}}"
)

DEFAULT_BODY = """\
{{if eq .Kind "resolved"}}{{with .Annotations.summary}}While firing: {{.}}
{{end}}{{else}}{{with .Annotations.summary}}{{.}}
{{end}}{{with .Annotations.description}}{{.}}
{{end}}{{end}}
Alert: {{.AlertName}}
Severity: {{.Severity}}
{{if eq .Kind "resolved"}}{{with .ValueText}}Value when it fired: {{.}}
{{end}}{{if eq .ResolvedBy "rule"}}Now: the alert's condition no longer holds
{{end}}Resolved after: {{.DurationText}}{{with .ResolvedBy}} by {{.}}{{end}}
{{else}}{{with .ValueText}}Fired with value: {{.}}
{{end}}Firing for: {{.DurationText}}
{{end}}{{with .AcknowledgedBy}}Acknowledged by: {{.}}
{{end}}{{if eq .Kind "escalation"}}Not acknowledged after {{.DurationText}}: escalated.
{{end}}Labels:{{range $k, $v := .Labels}} {{$k}}="{{$v}}"{{end}}
{{with .PageURL}}Page: {{.}}
{{end}}{{with .IncidentURL}}Incident: {{.}}
{{end}}{{with .GeneratorURL}}{{if match "^[A-Za-z][A-Za-z0-9+.-]*://" .}}Source: {{.}}
{{end}}{{end}}"""

_PERCENT = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?%")
# How an annotation may show the value: the rule's own unit, reused for the value line.
_FORMATS = (humanize_percentage, humanize_duration, humanize1024)


def value_text(value: float | None, annotations: dict[str, str]) -> str:
    """The value as the alert's annotations show it, or ``humanize``'d; "" when unknown.

    When an annotation contains the value as ``humanizePercentage`` (or ``humanizeDuration``,
    ``humanize1024``) renders it, the rule chose that unit: ``0.2857`` is ``28.57%`` there
    and here; failing that, a summary showing a percentage means one. Otherwise ``humanize``,
    as Alertmanager's default templates do.
    """
    if value is None or math.isnan(value):
        return ""
    texts = list(annotations.values())
    for render_as in _FORMATS:
        shown = render_as(value)
        # As a whole word: the "0s" of a value 0 is not the one inside "30s".
        alone = re.compile(rf"(?<![\w.]){re.escape(shown)}(?!\w)")
        if any(alone.search(text) for text in texts):
            return shown
    # A resolved message's or a reminder's annotations were rendered with a later value:
    # a summary that shows a percentage still says the rule's unit.
    if _PERCENT.search(annotations.get("summary", "")):
        return humanize_percentage(value)
    return humanize(value)


def duration_text(seconds: float) -> str:
    """Whole seconds as ``3m 12s`` (``less than 1s`` just after an incident opens)."""
    if seconds < 1:
        return "less than 1s"
    return humanize_duration(float(int(seconds)))


# Parsing only needs the function names; execution binds them to the external URL.
_NAMES = funcs()

STATUS = {
    "firing": "FIRING",
    "acknowledged": "ACKNOWLEDGED",
    "resolved": "RESOLVED",
    "silenced": "SILENCED",
    "repeat": "FIRING",
    "escalation": "ESCALATION",
}

# Apprise's notify types: failure, success, info and warning.
NOTIFY_TYPE = {
    "firing": "failure",
    "repeat": "failure",
    "acknowledged": "info",
    "resolved": "success",
    "silenced": "warning",
    "escalation": "warning",
}


@dataclass(frozen=True)
class Message:
    """What one notification says, and the Apprise notify type it is sent as."""

    title: str
    body: str
    notify_type: str


def incident_url(external_url: str, incident_id: int) -> str:
    """The incident's API address under the external URL (empty without one)."""
    if not external_url:
        return ""
    return f"{external_url.rstrip('/')}/api/v1/incidents/{incident_id}"


def page_url(external_url: str, incident_id: int) -> str:
    """The incident's page (acknowledge and resolve buttons) under the external URL."""
    if not external_url:
        return ""
    return f"{external_url.rstrip('/')}/incidents/{incident_id}"


def template_data(
    facts: Facts, *, kind: Kind, route: str, now: float, external_url: str, seq: int = 0
) -> GoStruct:
    """What ``.`` is in a notification template."""
    until = facts.resolved_at if facts.resolved_at is not None else now
    return GoStruct(
        "notification",
        {
            "ID": facts.id,
            "Kind": kind,
            "Status": STATUS[kind],
            "Route": route,
            "Repeat": seq,
            "State": facts.state,
            "AlertName": facts.alertname,
            "Severity": facts.severity,
            "Labels": dict(facts.labels),
            "Annotations": dict(facts.annotations),
            "Value": math.nan if facts.value is None else facts.value,
            "ValueText": value_text(facts.value, dict(facts.annotations)),
            "StartedAt": facts.started_at,
            "AcknowledgedAt": facts.acknowledged_at,
            "AcknowledgedBy": facts.acknowledged_by or "",
            "ResolvedAt": facts.resolved_at,
            "ResolvedBy": facts.resolved_by or "",
            "Duration": max(until - facts.started_at, 0.0),
            "DurationText": duration_text(max(until - facts.started_at, 0.0)),
            "IncidentURL": incident_url(external_url, facts.id),
            "PageURL": page_url(external_url, facts.id),
            "GeneratorURL": facts.generator_url,
            "ExternalURL": external_url,
            "PreviousID": facts.previous_id,
        },
    )


def check(text: str) -> str | None:
    """The parse error of a notification template, or None when it parses."""
    nodes = _parsed(DEFINITIONS + text)
    return nodes if isinstance(nodes, str) else None


@functools.lru_cache(maxsize=256)
def _parsed(full: str) -> list[Node] | str:
    """Parse once per distinct template (messages render in the store's writer thread)."""
    try:
        return parse(full, name="notification", funcs=_NAMES)
    except TemplateError as err:
        return str(err)


def expand(text: str, data: GoStruct, *, external_url: str = "") -> str:
    """Expand one template; a failure is rendered into the text, never raised."""
    full = DEFINITIONS + text
    nodes = _parsed(full)
    if isinstance(nodes, str):
        return f"<error expanding template: {nodes}>"
    table = funcs(external_url=external_url)
    try:
        return execute(nodes, text=full, name="notification", funcs=table, data=data)
    except (TemplateError, RecursionError) as err:
        return f"<error expanding template: {err}>"


def render(
    facts: Facts,
    *,
    kind: Kind,
    route: str,
    now: float,
    templates: Sequence[Templates] = (),
    external_url: str = "",
    seq: int = 0,
) -> Message:
    """The message for one notification; the first of ``templates`` that sets a part wins."""
    title = next((t.title for t in templates if t.title), DEFAULT_TITLE)
    body = next((t.body for t in templates if t.body), DEFAULT_BODY)
    data = template_data(facts, kind=kind, route=route, now=now, external_url=external_url, seq=seq)
    return Message(
        title=expand(title, data, external_url=external_url).strip(),
        body=expand(body, data, external_url=external_url).strip(),
        notify_type=NOTIFY_TYPE[kind],
    )
