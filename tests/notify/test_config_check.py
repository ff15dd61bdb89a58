"""A route that can never deliver is a config error: in ``check config``, at start-up, on reload."""

from pathlib import Path

import aiohttp
import pytest

from aiwatch.config import ConfigError, load_config
from tests.cli import aiwatch, run_once
from tests.daemons import DaemonProcess

SECRET = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"

ROUTES = f"""\
notifications:
  routes:
    - name: oncall
      apprise: ["json://127.0.0.1:9/hook", "slak://{SECRET}"]
    - name: managers
      apprise_file: urls.txt
    - name: vision
      apprise_config: apprise.yml
      tags: [vision]
    - name: empty
      apprise_config: junk.txt
    - name: missing
      apprise_config: nope.yml
    - name: fine
      apprise_config: apprise.yml
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A config whose routes fail in each way Apprise can tell before sending."""
    (tmp_path / "urls.txt").write_text(f"# managers\njson://127.0.0.1:9/m\n\nslak://{SECRET}x\n")
    (tmp_path / "apprise.yml").write_text(
        "version: 1\nurls:\n  - json://127.0.0.1:9/search:\n      - tag: search\n"
    )
    (tmp_path / "junk.txt").write_text("this is not a URL\n")
    path = tmp_path / "aiwatch.yml"
    path.write_text(ROUTES)
    return path


def test_each_unusable_route_is_a_located_problem(broken: Path, tmp_path: Path) -> None:
    """Bad URLs by index (inline, or from apprise_file at that key), an apprise_config that is
    missing, holds no URL or none with the tags: each at its key, no URL in any message."""
    with pytest.raises(ConfigError) as err:
        load_config(str(broken))
    problems = [str(p) for p in err.value.problems]
    assert problems == [
        f"{broken}:4:44: notifications.routes[0].apprise[1]: not a valid Apprise URL",
        f"{broken}:6:7: notifications.routes[1].apprise[1]: not a valid Apprise URL",
        f"{broken}:8:23: notifications.routes[2].apprise_config: "
        "no service in it has the tags vision",
        f"{broken}:11:23: notifications.routes[3].apprise_config: it holds no valid Apprise URL",
        f"{broken}:13:23: notifications.routes[4].apprise_config: "
        f"cannot read {tmp_path / 'nope.yml'}",
    ]
    assert "slak" not in "\n".join(problems)


def test_a_url_from_the_environment_is_checked_too(tmp_path: Path) -> None:
    """``${VAR}`` is substituted first, so a mistyped URL in the environment is caught."""
    path = tmp_path / "aiwatch.yml"
    path.write_text('notifications:\n  routes:\n    - apprise: ["${HOOK}"]\n')
    assert load_config(str(path), env={"HOOK": "json://127.0.0.1:9/ok"})
    with pytest.raises(ConfigError) as err:
        load_config(str(path), env={"HOOK": f"slak://{SECRET}"})
    assert [str(p) for p in err.value.problems] == [
        f"{path}:3:17: notifications.routes[0].apprise[0]: not a valid Apprise URL"
    ]


def test_check_config_fails_on_a_bad_apprise_url_without_printing_it(broken: Path) -> None:
    """``aiwatch check config`` exits 1 with FILE:LINE:COL: PATH: message, and the secret
    URL appears nowhere in its output."""
    result = aiwatch("check", "config", str(broken))
    assert result.returncode == 1
    assert result.stderr.startswith(f"FAILED: {broken}\n")
    assert f"{broken}:4:44: notifications.routes[0].apprise[1]: not a valid Apprise URL" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_run_refuses_a_bad_apprise_url(broken: Path, tmp_path: Path) -> None:
    """``aiwatch run`` treats it like any invalid config: the problems, exit 1, no secret."""
    result = run_once(broken, tmp_path / "data", timeout=60)
    assert result.returncode == 1
    assert "notifications.routes[0].apprise[1]: not a valid Apprise URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr


async def test_reload_with_a_bad_apprise_url_keeps_the_old_config(tmp_path: Path) -> None:
    """A reload that brings a bad URL fails (500 naming the key) and the old routes stay."""
    path = tmp_path / "aiwatch.yml"
    route = '    - name: {}\n      apprise: ["{}"]\n'
    path.write_text("notifications:\n  routes:\n" + route.format("old", "json://127.0.0.1:9/ok"))
    daemon = DaemonProcess(path, tmp_path / "data")
    try:
        async with aiohttp.ClientSession() as session:
            await daemon.ready(session)
            path.write_text("notifications:\n  routes:\n" + route.format("new", f"slak://{SECRET}"))
            async with session.post(daemon.url + "/-/reload") as resp:
                status, body = resp.status, await resp.text()
            assert status == 500
            assert f"{path}:4:17: notifications.routes[0].apprise[0]: not a valid Apprise" in body
            assert await daemon.metric(session, "aiwatch_config_last_reload_successful") == 0.0
            async with session.get(daemon.url + "/api/v1/status/config") as resp:
                routes = (await resp.json())["data"]["config"]["notifications"]["routes"]
            assert [r["name"] for r in routes] == ["old"]
    finally:
        daemon.kill()
    assert SECRET not in body + daemon.log_path.read_text()
