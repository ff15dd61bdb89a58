"""Apprise URLs and config files: secrets stay out of logs, broken ones are named up front."""

import logging
from pathlib import Path

import pytest

from aiwatch.config.model import Route, Secret
from aiwatch.notify.deliver import Destination, RouteProblem, notify_blocking, route_problems
from aiwatch.notify.messages import Message

SECRET = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


def test_apprise_log_lines_never_carry_the_url(caplog: pytest.LogCaptureFixture) -> None:
    """Apprise logs an unparseable URL verbatim; aiwatch's filter masks it, so a mistyped
    webhook with a token in it does not end up in the log."""
    caplog.set_level(logging.DEBUG)
    message = Message(title="t", body="b", notify_type="failure")
    error = notify_blocking(Destination(key="url0", url=f"slak://{SECRET}"), message)
    assert error == "invalid Apprise URL"
    assert any(r.name == "apprise" for r in caplog.records), caplog.text
    assert SECRET not in caplog.text
    assert "slak://" not in caplog.text


def test_route_problems_name_the_bad_url_by_position_without_showing_it(
    tmp_path: Path,
) -> None:
    """A URL Apprise cannot parse is reported as ``apprise[i]``, never echoed; good ones
    pass."""
    route = Route(
        name="oncall",
        apprise=(Secret("json://127.0.0.1:9/hook"), Secret(f"slak://{SECRET}")),
    )
    problems = route_problems(route, base=str(tmp_path))
    assert problems == [RouteProblem(("apprise", 1), "not a valid Apprise URL")]
    assert str(problems[0]) == "apprise[1]: not a valid Apprise URL"


def test_route_problems_report_a_missing_or_empty_apprise_config(tmp_path: Path) -> None:
    """A missing apprise_config file, or one whose tags select nothing, is named."""
    missing = Route(name="r", apprise_config="nope.yml")
    assert [str(p) for p in route_problems(missing, base=str(tmp_path))] == [
        f"apprise_config: cannot read {tmp_path / 'nope.yml'}"
    ]
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/a:\n      - tag: vision\n"
    )
    good = Route(name="r", apprise_config="apprise.yml", tags=("vision",))
    assert route_problems(good, base=str(tmp_path)) == []
    untagged = Route(name="r", apprise_config="apprise.yml", tags=("search",))
    assert [str(p) for p in route_problems(untagged, base=str(tmp_path))] == [
        "apprise_config: no service in it has the tags search"
    ]
