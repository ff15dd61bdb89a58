"""Notification config as loaded: routes, secrets from files, template errors located."""

from pathlib import Path

import pytest

from aiwatch.config import ConfigError, load_config


def test_routes_load_with_secret_urls_from_a_file(tmp_path: Path) -> None:
    """``apprise_file`` reads one URL per line; the URLs stay secret in repr."""
    (tmp_path / "urls").write_text("json://127.0.0.1:1/a\n\njson://127.0.0.1:1/b\n")
    (tmp_path / "aiwatch.yml").write_text(
        "notifications:\n"
        "  routes:\n"
        "    - name: oncall\n"
        "      matchers: ['severity=\"critical\"']\n"
        "      apprise_file: urls\n"
        "      events: [firing, acknowledged]\n"
        "      repeat_interval: 1h\n"
        "      escalate_after: 15m\n"
        "      continue: true\n"
        "    - name: managers\n"
        "      apprise: ['json://127.0.0.1:1/c']\n"
    )
    route = load_config(str(tmp_path / "aiwatch.yml")).notifications.routes[0]
    assert [u.reveal() for u in route.apprise] == ["json://127.0.0.1:1/a", "json://127.0.0.1:1/b"]
    assert "127.0.0.1" not in repr(route)
    assert (route.repeat_interval, route.escalate_after, route.continue_) == (3600.0, 900.0, True)
    assert route.events == ("firing", "acknowledged")


def test_template_errors_are_reported_at_their_line(tmp_path: Path) -> None:
    """A notification template that does not parse is a config error with file:line."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(
        "notifications:\n"
        "  templates: {title: '{{ if }}'}\n"
        "  routes:\n"
        "    - apprise: ['json://127.0.0.1:1/x']\n"
        "      templates: {body: '{{ nosuchfunc }}'}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    problems = [str(p) for p in err.value.problems]
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}:2:")
    assert "notifications.templates.title" in problems[0]
    assert problems[1].startswith(f"{path}:5:")
    assert 'function "nosuchfunc" not defined' in problems[1]


def test_escalation_on_the_last_route_is_an_error(tmp_path: Path) -> None:
    """``escalate_after`` needs a route after it to escalate to."""
    path = tmp_path / "aiwatch.yml"
    path.write_text(
        "notifications:\n  routes:\n    - apprise: ['json://127.0.0.1:1/x']\n"
        "      escalate_after: 5m\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert [p.path for p in err.value.problems] == ["notifications.routes[0].escalate_after"]
