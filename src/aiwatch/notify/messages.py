"""Title and body of a notification, from Go templates like rule annotations use."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from aiwatch.config.model import Templates
from aiwatch.golang.template import GoStruct, Node, TemplateError, execute, parse
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
{{with .Annotations.summary}}{{.}}
{{end}}{{with .Annotations.description}}{{.}}
{{end}}
Alert: {{.AlertName}}
Severity: {{.Severity}}
Fired with value: {{humanize .Value}}
{{if eq .Kind "resolved"}}Resolved after: {{humanizeDuration .Duration}}\
{{with .ResolvedBy}} by {{.}}{{end}}
{{else}}Firing for: {{humanizeDuration .Duration}}
{{end}}{{with .AcknowledgedBy}}Acknowledged by: {{.}}
{{end}}{{if eq .Kind "escalation"}}Not acknowledged after {{humanizeDuration .Duration}}: escalated.
{{end}}Labels:{{range $k, $v := .Labels}} {{$k}}="{{$v}}"{{end}}
{{with .IncidentURL}}Incident: {{.}}
{{end}}{{with .GeneratorURL}}{{if match "^[A-Za-z][A-Za-z0-9+.-]*://" .}}Source: {{.}}
{{end}}{{end}}"""

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
    """The incident's API address under ``global.external_url`` (empty without one)."""
    if not external_url:
        return ""
    return f"{external_url.rstrip('/')}/api/v1/incidents/{incident_id}"


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
            "Value": facts.value,
            "StartedAt": facts.started_at,
            "AcknowledgedAt": facts.acknowledged_at,
            "AcknowledgedBy": facts.acknowledged_by or "",
            "ResolvedAt": facts.resolved_at,
            "ResolvedBy": facts.resolved_by or "",
            "Duration": max(until - facts.started_at, 0.0),
            "IncidentURL": incident_url(external_url, facts.id),
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
