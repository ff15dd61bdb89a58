"""Routing: Alertmanager-style matchers, first match wins, continue, events, silences."""

from aiwatch.config.model import Route, Secret
from aiwatch.notify.facts import Facts
from aiwatch.notify.routing import Planned, compile_routes, matching, next_route, plan


def _route(name: str, *matchers: str, **kw: object) -> Route:
    return Route(name=name, matchers=matchers, apprise=(Secret("json://x"),), **kw)  # type: ignore[arg-type]


def _facts(**labels: str) -> Facts:
    return Facts(id=1, alertname="A", labels={"alertname": "A", **labels}, started_at=0.0)


ROUTES = compile_routes(
    [
        _route("critical", 'severity="critical"', events=("firing", "resolved", "acknowledged")),
        _route("vision", 'team=~"vis.*"', continue_=True),
        _route("not-dev", 'env!="dev"', events=("firing", "silenced")),
        _route("catch-all"),
    ]
)


def test_first_match_wins() -> None:
    """An incident matching the first route goes only there."""
    names = [r.name for r in matching(ROUTES, {"severity": "critical", "team": "vision"})]
    assert names == ["critical"]


def test_continue_lets_later_routes_match() -> None:
    """A matching route with ``continue: true`` passes the incident on to the next match."""
    names = [r.name for r in matching(ROUTES, {"team": "vision", "env": "prod"})]
    assert names == ["vision", "not-dev"]


def test_negative_and_regex_matchers() -> None:
    """``!=`` and anchored ``=~`` decide as in Alertmanager; the catch-all takes the rest."""
    assert [r.name for r in matching(ROUTES, {"env": "dev", "team": "xvision"})] == ["catch-all"]
    assert [r.name for r in matching(ROUTES, {"env": "dev", "team": "visual"})] == [
        "vision",
        "catch-all",
    ]


def test_plan_follows_each_routes_events() -> None:
    """Only routes that list an event get it; ``fired`` is the store's word for firing."""
    facts = _facts(team="vision", env="prod")
    assert plan(ROUTES, facts, "fired") == [
        Planned(route="vision", kind="firing"),
        Planned(route="not-dev", kind="firing"),
    ]
    assert plan(ROUTES, facts, "resolved") == [Planned(route="vision", kind="resolved")]
    assert plan(ROUTES, facts, "acknowledged") == []


def test_silenced_incident_is_told_to_nobody_but_routes_asking_for_silenced() -> None:
    """A silenced incident gets no firing/resolved notice; ``silenced`` only where asked."""
    facts = Facts(
        id=1,
        alertname="A",
        labels={"team": "vision", "env": "prod"},
        started_at=0.0,
        silenced=True,
    )
    assert plan(ROUTES, facts, "fired") == []
    assert plan(ROUTES, facts, "resolved") == []
    assert plan(ROUTES, facts, "silenced") == [Planned(route="not-dev", kind="silenced")]


def test_next_route_is_the_following_one_in_the_list() -> None:
    """Escalation goes to the route listed next, whatever its matchers; none after the last."""
    after = next_route(ROUTES, "critical")
    assert after is not None
    assert after.name == "vision"
    assert next_route(ROUTES, "catch-all") is None
    assert next_route(ROUTES, "unknown") is None
