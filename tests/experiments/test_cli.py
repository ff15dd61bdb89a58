"""``aiwatch experiments list|show`` against a running API."""

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bcrypt

from aiwatch.config import load_config
from aiwatch.experiments import web as experiments_web
from aiwatch.incidents.cli import PASSWORD_ENV
from aiwatch.stats import Mean

from .conftest import daemon_app
from .test_api import EXPERIMENT, write


async def aiwatch(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the ``aiwatch`` command line in a subprocess (the test's loop keeps serving)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiwatch",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _serve(
    tmp_path: Path, aiohttp_server: Callable[..., Any], *, web_config: Path | None = None
) -> str:
    config = load_config(str(write(tmp_path / "aiwatch.yml", [EXPERIMENT])))
    app = daemon_app(config, tmp_path / "data", web_config=web_config)
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    client_url = f"http://127.0.0.1:{server.port}"
    tracker = app[experiments_web.TRACKER]
    await tracker.observe(
        "prompts",
        {
            ("long", "rating"): Mean.from_values([3, 4, 3, 2, 3, 3]),
            ("short", "rating"): Mean.from_values([4, 5, 5, 4, 5, 4]),
        },
    )
    return client_url


async def test_list_and_show_print_tables(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """list: one line per experiment; show: a header and a row per variant and metric."""
    url = await _serve(tmp_path, aiohttp_server)
    code, out, err = await aiwatch("experiments", "list", "--url", url)
    assert (code, err) == (0, "")
    header, line = out.splitlines()
    assert header.split() == ["NAME", "STATE", "METHOD", "VARIANTS", "SRM", "VERDICT"]
    assert line.split()[:5] == ["prompts", "running", "frequentist", "2", "no"]
    assert line.endswith("not enough samples: 0 of 5 needed")

    code, out, err = await aiwatch("experiments", "show", "prompts", "--url", url)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "prompts: running, frequentist, relative difference, correction holm, control long"
    )
    assert lines[1] == "hypothesis: the short prompt is rated higher"
    table = lines[lines.index("") + 1 :]
    assert table[0].split()[:6] == ["METRIC", "VARIANT", "N", "MEAN", "LIFT", "CI"]
    short = table[2].split()
    assert short[:4] == ["rating", "short", "6", "4.5"]
    assert short[4] == "0.5"
    assert table[3].split()[-1] == "n_below_2"


async def test_show_json_and_errors(tmp_path: Path, aiohttp_server: Callable[..., Any]) -> None:
    """-o json prints the API's data; an unknown name or an unreachable URL exits 1."""
    url = await _serve(tmp_path, aiohttp_server)
    code, out, _ = await aiwatch("experiments", "show", "prompts", "-o", "json", "--url", url)
    assert code == 0
    assert json.loads(out)["results"][1]["n"] == 6
    code, out, err = await aiwatch("experiments", "show", "nope", "--url", url)
    assert (code, out) == (1, "")
    assert err == "aiwatch experiments: 404: no configured experiment named 'nope'\n"
    code, _, err = await aiwatch("experiments", "list", "--url", "http://127.0.0.1:1")
    assert code == 1
    assert err.startswith("aiwatch experiments: cannot reach http://127.0.0.1:1")


async def test_user_and_password_for_basic_auth(
    tmp_path: Path, aiohttp_server: Callable[..., Any]
) -> None:
    """--user with --password-file or $AIWATCH_PASSWORD; no or a wrong password is 401."""
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  alice: {hashed}\n")
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    url = await _serve(tmp_path, aiohttp_server, web_config=web_config)
    login = ("--url", url, "--user", "alice")
    code, out, _ = await aiwatch("experiments", "list", *login, "--password-file", str(password))
    assert code == 0
    assert out.startswith("NAME")
    code, out, _ = await aiwatch(
        "experiments", "show", "prompts", *login, env={PASSWORD_ENV: "s3cret"}
    )
    assert code == 0
    assert out.startswith("prompts: running")
    code, _, err = await aiwatch("experiments", "list", "--url", url)
    assert code == 1
    assert err.startswith("aiwatch experiments: 401: ")
    code, _, err = await aiwatch("experiments", "list", *login, env={PASSWORD_ENV: "wrong"})
    assert code == 1
    assert err.startswith("aiwatch experiments: 401: ")
