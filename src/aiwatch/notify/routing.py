"""Which routes hear about an incident: Alertmanager-style matchers, first match wins."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiwatch.config.model import Route
from aiwatch.matchers import Matcher, matches_all, parse_matcher
from aiwatch.notify.facts import Facts, Kind


@dataclass(frozen=True)
class Routed:
    """A route with its matchers parsed, and its place in the configured list."""

    index: int
    route: Route
    matchers: tuple[Matcher, ...]

    @property
    def name(self) -> str:
        """The route's name (unique in a config)."""
        return self.route.name


@dataclass(frozen=True)
class Planned:
    """One notification to queue: which route, about what, and the repeat number."""

    route: str
    kind: Kind
    seq: int = 0


def compile_routes(routes: Sequence[Route]) -> tuple[Routed, ...]:
    """Parse every route's matchers once (the config loader already validated them)."""
    return tuple(
        Routed(index=i, route=r, matchers=tuple(parse_matcher(m) for m in r.matchers))
        for i, r in enumerate(routes)
    )


def matching(routes: Sequence[Routed], labels: Mapping[str, str]) -> list[Routed]:
    """The routes an incident with ``labels`` goes to, in order."""
    out = []
    for routed in routes:
        if matches_all(routed.matchers, labels):
            out.append(routed)
            if not routed.route.continue_:
                break
    return out


def next_route(routes: Sequence[Routed], after: str) -> Routed | None:
    """The route listed right after the one named ``after`` (where escalations go)."""
    for i, routed in enumerate(routes):
        if routed.name == after:
            return routes[i + 1] if i + 1 < len(routes) else None
    return None


def plan(routes: Sequence[Routed], facts: Facts, event: str) -> list[Planned]:
    """The notifications one incident event causes.

    A silenced incident is told to nobody, except a ``silenced`` event to routes that ask
    for it; ``fired`` and ``opened`` are the store's words for ``firing``.
    """
    kind = "firing" if event in ("fired", "opened", "firing") else event
    if kind not in ("firing", "acknowledged", "resolved", "silenced"):
        return []
    if facts.silenced and kind != "silenced":
        return []
    return [
        Planned(route=r.name, kind=kind)
        for r in matching(routes, facts.labels)
        if kind in r.route.events
    ]
