"""What the status page shows, built from config, states, rollups and incidents (no I/O)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiwatch.config.model import StatusPage, Target
from aiwatch.status.rollups import Counts, Key
from aiwatch.status.uptime import WINDOWS, Uptime, percent, summed, uptime

RECENT = 10
"""Resolved incidents listed per feature."""
HISTORY_DAYS = 90
_RANK = {"down": 3, "degraded": 2, "unknown": 1, "up": 0}


def shown_targets(page: StatusPage, targets: Iterable[Target]) -> list[Target]:
    """The targets the page shows: those named, those of the features named, or all."""
    every = list(targets)
    if not page.targets and not page.features:
        return every
    return [t for t in every if t.name in page.targets or t.feature in page.features]


def worst(states: Iterable[str]) -> str:
    """The worst of ``states`` (down, degraded, unknown, up), ``unknown`` for none."""
    return max(states, key=lambda s: _RANK.get(s, 1), default="unknown")


@dataclass(frozen=True)
class IncidentLine:
    """One incident as the page shows it: a title and times; labels only when not public."""

    id: int
    title: str
    state: str
    started: str
    ended: str | None
    duration: str | None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Row:
    """A target, or a feature's total, with its state and uptime."""

    name: str
    state: str
    reason: str
    uptime: Uptime

    @property
    def figures(self) -> list[tuple[str, str]]:
        """``[("24h", "99.95%"), …]``."""
        return [(name, percent(self.uptime.windows[name])) for name, _ in WINDOWS]


@dataclass(frozen=True)
class Feature:
    """One feature's section: its total row, its targets and its incidents."""

    total: Row
    targets: tuple[Row, ...]
    open: tuple[IncidentLine, ...] = ()
    recent: tuple[IncidentLine, ...] = field(default=())


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    return f"{minutes // 60} h {minutes % 60} min"


def incident_line(incident: Any, *, public: bool) -> IncidentLine:
    """An incident (``incidents.lifecycle.Incident``) as a line of the page."""
    ended = incident.resolved_at
    return IncidentLine(
        id=incident.id,
        title=incident.alertname or "incident",
        state=incident.state,
        started=_when(incident.started_at) or "",
        ended=_when(ended),
        duration=_duration(ended - incident.started_at) if ended is not None else None,
        labels=() if public else tuple(sorted(incident.labels.items())),
    )


def _belongs(incident: Any, feature: str, names: set[str]) -> bool:
    labels = incident.labels
    return labels.get("target") in names or (bool(feature) and labels.get("feature") == feature)


def features(
    targets: Sequence[Target],
    *,
    state: Callable[[str], tuple[str, str]],
    counts: Mapping[Key, Counts],
    incidents: Sequence[Any],
    now: float,
    public: bool,
) -> list[Feature]:
    """The page's sections, one per feature in config order (``""``: targets without one)."""
    order: dict[str, list[Target]] = {}
    for target in targets:
        order.setdefault(target.feature, []).append(target)
    since = now - HISTORY_DAYS * 86400
    out = []
    for feature, members in order.items():
        rows = []
        for t in members:
            current, reason = state(t.name)
            rows.append(Row(t.name, current, "" if public else reason, _up(counts, [t], now)))
        names = {t.name for t in members}
        mine = [i for i in incidents if _belongs(i, feature, names)]
        open_ = [incident_line(i, public=public) for i in mine if i.state != "resolved"]
        done = [i for i in mine if i.state == "resolved" and (i.resolved_at or 0) >= since]
        total = Row(feature or "other", worst(r.state for r in rows), "", _up(counts, members, now))
        recent = [incident_line(i, public=public) for i in done[:RECENT]]
        out.append(Feature(total, tuple(rows), tuple(open_), tuple(recent)))
    return out


def _up(counts: Mapping[Key, Counts], members: Sequence[Target], now: float) -> Uptime:
    return uptime(summed(counts, (t.name for t in members)), now=now)
