"""A daemon loads SciPy only for experiments, Apprise only for notification routes, Jinja2
only when a page is asked for and bcrypt only when a password is checked.

Each test runs the real ``aiwatch run`` in a child interpreter (``aiwatch.cli.main``) against
mock-ai until every target has been probed and ``/metrics`` and ``/api/v1/experiments`` have
been read, stops it with SIGTERM, and then prints which heavy libraries the process loaded.
"""

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from aiwatch.mockai import make_mock_app
from tests.daemons import free_port

HEAVY = ("scipy", "numpy", "apprise", "sqlite_utils", "pandas", "jinja2", "bcrypt")

# The child: run the daemon, drive it from a thread, then report ``sys.modules``.
DRIVER = """
import json, os, signal, sys, threading, time, urllib.request
from aiwatch.cli import main

base, config, storage, targets, heavy = sys.argv[1:6]

def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return ""

def drive():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = get("/metrics").splitlines()
        if sum(line.startswith("aiwatch_probe_success{") for line in lines) >= int(targets):
            break
        time.sleep(0.1)
    get("/api/v1/experiments")
    get("/metrics")
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=drive, daemon=True).start()
code = main(["run", "--config.file", config, "--storage.path", storage,
             "--web.listen-address", base.rpartition("/")[2], "--log.level", "warn"])
print(json.dumps({"code": code, "loaded": [m for m in heavy.split(",") if m in sys.modules]}))
"""


def _config(mock: str, *, experiment: bool, route: bool) -> str:
    text = (
        "global: {probe_interval: 1s}\n"
        "targets:\n"
        f"  - {{name: chat, kind: openai_chat, url: '{mock}/v1', model: mock-small}}\n"
        f"  - {{name: embed, kind: openai_embeddings, url: '{mock}/v1', model: mock-embed}}\n"
        f"  - {{name: health, kind: http, url: '{mock}/v1/models'}}\n"
    )
    if experiment:
        text += (
            "experiments:\n"
            "  - name: models\n    control: a\n"
            "    variants: [{name: a, target: chat}, {name: b, target: embed}]\n"
            "    metrics: [{name: ok, source: probe, kind: proportion, field: success}]\n"
        )
    if route:
        text += "notifications:\n  routes: [{apprise: ['json://127.0.0.1:9/hook']}]\n"
    return text


async def _loaded(
    tmp_path: Path, aiohttp_server: Callable[..., Any], *, experiment: bool, route: bool
) -> list[str]:
    mock: TestServer = await aiohttp_server(make_mock_app(seed=1), host="127.0.0.1", port=0)
    config = tmp_path / "aiwatch.yml"
    config.write_text(_config(f"http://127.0.0.1:{mock.port}", experiment=experiment, route=route))
    base = f"http://127.0.0.1:{free_port()}"
    argv = [str(config), str(tmp_path / "data"), "3", ",".join(HEAVY)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DRIVER, base, *argv, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    report = json.loads(out.decode().splitlines()[-1])
    assert report["code"] == 0, report
    loaded: list[str] = report["loaded"]
    return loaded


async def test_daemon_without_experiments_or_routes_loads_no_scipy_or_apprise(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """Three probed targets, rules, the incident store, a scrape: none of the heavy libraries
    (nor Jinja2 nor bcrypt: nobody asked for a page, no password was checked)."""
    loaded = await _loaded(tmp_path, aiohttp_server, experiment=False, route=False)
    assert loaded == []


async def test_daemon_loads_scipy_for_an_experiment_and_apprise_for_a_route(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """The same daemon with an experiment and a route does load them (the check can fail)."""
    loaded = await _loaded(tmp_path, aiohttp_server, experiment=True, route=True)
    assert {"scipy", "apprise"} <= set(loaded)
    assert "sqlite_utils" not in loaded
