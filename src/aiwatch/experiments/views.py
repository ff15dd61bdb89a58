"""The experiment documents the API answers, shared by the experiments' handlers."""

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from aiwatch.app.keys import TRACKER
from aiwatch.config.experiments import RELEASE_TYPES
from aiwatch.experiments.tracker import Live
from aiwatch.web.envelope import fail


def iso(ts: float | None) -> str | None:
    """A Unix time as RFC 3339 UTC, to the second."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(live: Live) -> dict[str, Any]:
    """The experiment document: the analysis with the state, control, start time, type and
    source; a canary or blue-green experiment's release verdict under ``release``."""
    analysis = live.result().to_json()
    head = {
        "name": analysis.pop("name"),
        "state": live.state,
        "hypothesis": live.config.hypothesis,
        "control": live.config.control,
        "started_at": iso(live.started_at),
        "min_samples": live.config.min_samples,
        "type": live.config.type,
        "source": live.source,
    }
    if live.config.type in RELEASE_TYPES:
        head["release"] = live.verdict().to_json()
    if live.config.type == "blue_green":
        head["switched_at"] = iso(live.switched_at)
    return head | analysis


def live_of(request: web.Request) -> Live:
    """The experiment named in the path, or 404."""
    name = request.match_info["name"]
    live = request.app[TRACKER].live.get(name)
    if live is None:
        fail(404, "not_found", f"no configured experiment named {name!r}")
    return live
