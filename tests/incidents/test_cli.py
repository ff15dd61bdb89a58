"""``aiwatch incidents …`` and ``aiwatch silences …`` against the daemon's app over HTTP."""

import asyncio
import json
from pathlib import Path

import pytest

from aiwatch.cli import main

from .conftest import PASSWORDS, Serve, Served, write_web_config


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _alert(served: Served, **labels: str) -> None:
    alert = [{"labels": {"alertname": "EndpointDown", **labels}, "annotations": {"summary": "s"}}]
    status, _ = await served.call("POST", "/api/v2/alerts", json=alert)
    assert status == 200


async def test_list_show_ack_resolve(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    """The incident commands print readable tables and act through the API."""
    served = await serve()
    await _alert(served, severity="critical", target="captions")
    await _alert(served, severity="warning", target="search")
    code, out, _ = await _cli(capsys, "incidents", "list", "--url", served.url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATE", "SEVERITY", "ALERT"]
    assert lines[1].split()[:4] == ["2", "firing", "warning", "EndpointDown"]
    code, out, _ = await _cli(
        capsys, "incidents", "list", 'target="captions"', "--url", served.url, "-o", "json"
    )
    assert [i["id"] for i in json.loads(out)] == [1]
    code, out, _ = await _cli(
        capsys, "incidents", "ack", "1", "--by", "alice", "-c", "on it", "--url", served.url
    )
    assert code == 0
    assert "acknowledged" in out
    assert "on it" in out
    code, out, _ = await _cli(
        capsys, "incidents", "resolve", "1", "--by", "alice", "--url", served.url
    )
    assert code == 0
    code, out, _ = await _cli(capsys, "incidents", "show", "1", "--url", served.url)
    events = [line.split()[2] for line in out.split("\n\n")[1].splitlines()[1:]]
    assert events == ["fired", "acknowledged", "resolved"]


async def test_errors_exit_1_with_the_api_message(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown id or an illegal move prints the API's error and exits 1."""
    served = await serve()
    code, _, err = await _cli(capsys, "incidents", "show", "9", "--url", served.url)
    assert code == 1
    assert "404: no incident with id 9" in err


async def test_silences_add_list_expire_with_basic_auth(
    serve: Serve, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Silence commands authenticate with --user and --password-file; the author is the user."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    password = tmp_path / "password"
    password.write_text(PASSWORDS["alice"] + "\n")
    auth = ("--url", served.url, "--user", "alice", "--password-file", str(password))
    code, out, err = await _cli(
        capsys, "silences", "add", 'target="captions"', "-d", "2h", "-c", "deploy", *auth
    )
    assert code == 0, err
    assert "active" in out
    assert "alice" in out
    code, out, _ = await _cli(capsys, "silences", "list", *auth, "-o", "json")
    [silence] = json.loads(out)
    assert silence["createdBy"] == "alice"
    assert silence["matchers"] == ['target="captions"']
    code, out, _ = await _cli(capsys, "silences", "expire", str(silence["id"]), *auth)
    assert code == 0
    assert "expired" in out
    code, _, err = await _cli(capsys, "silences", "list", "--url", served.url)
    assert code == 1
    assert "401" in err
