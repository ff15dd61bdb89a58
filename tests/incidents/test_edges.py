"""Edges found by trying the API and the CLI as a user would: odd digits, URLs, authors."""

import asyncio
import getpass
import json
from typing import Any

import jsonschema
import pytest

from aiwatch.app import openapi
from aiwatch.cli import main
from aiwatch.web.auth import is_loopback
from tests.daemons import free_port

from .conftest import Serve


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


NON_ASCII_DIGITS = [
    ("GET", "/api/v1/incidents?limit=%C2%B2", "limit"),
    ("GET", "/api/v1/incidents?before=%C2%B2", "before"),
    ("GET", "/api/v1/incidents?limit=%EF%BC%95", "limit"),
    ("GET", "/api/v1/incidents/%C2%B2", "not a positive integer"),
    ("GET", "/api/v1/incidents/%EF%BC%91", "not a positive integer"),
    ("POST", "/api/v1/incidents/%C2%B2/acknowledge", "not a positive integer"),
    ("DELETE", "/api/v1/silences/%C2%B2", "not a positive integer"),
]


@pytest.mark.parametrize("case", NON_ASCII_DIGITS, ids=[c[1] for c in NON_ASCII_DIGITS])
async def test_non_ascii_digits_are_a_400_not_a_500(serve: Serve, case: tuple[str, ...]) -> None:
    """'²' or a full-width '５' counts as a digit to str.isdigit(); ids and limits refuse them."""
    method, path, needle = case
    served = await serve()
    status, body = await served.call(method, path, json={"by": "a"} if method == "POST" else None)
    assert status == 400, body
    assert needle in body["error"]


def test_ipv4_mapped_loopback_is_loopback() -> None:
    """A dual-stack socket shows 127.0.0.1 as ::ffff:127.0.0.1; it is still loopback."""
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("::ffff:192.0.2.1")
    assert not is_loopback("192.0.2.1")


@pytest.mark.parametrize("url", ["127.0.0.1:9531", "not a url", "ftp://127.0.0.1:1"])
async def test_cli_bad_url_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    """A --url without http(s):// is named in one line, exit 1, no traceback."""
    code, _, err = await _cli(capsys, "incidents", "list", "--url", url)
    assert code == 1
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "--url" in err


async def test_cli_acts_as_the_os_user_without_auth(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like amtool, ack and silences add default the author to the OS user (no basic auth)."""
    served = await serve()
    alert = [{"labels": {"alertname": "Down", "target": "a"}}]
    assert (await served.call("POST", "/api/v2/alerts", json=alert))[0] == 200
    code, out, err = await _cli(capsys, "incidents", "ack", "1", "-o", "json", "--url", served.url)
    assert code == 0, err
    assert json.loads(out)["acknowledged_by"] == getpass.getuser()
    code, out, err = await _cli(
        capsys, "silences", "add", 'target="a"', "-o", "json", "--url", served.url
    )
    assert code == 0, err
    assert json.loads(out)["createdBy"] == getpass.getuser()


async def test_cli_show_says_dash_for_an_unknown_value(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alertmanager payloads carry no value; show prints '-', not Python's None."""
    served = await serve()
    alert = [{"labels": {"alertname": "Down", "target": "a"}}]
    assert (await served.call("POST", "/api/v2/alerts", json=alert))[0] == 200
    code, out, _ = await _cli(capsys, "incidents", "show", "1", "--url", served.url)
    assert code == 0
    assert "None" not in out
    assert "value: -" in out


REFUSED_BODIES = [
    ("PostableAlert", {"labels": {}}),
    ("NewSilence", {"matchers": [""], "endsAt": "2999-01-01T00:00:00Z"}),
]


@pytest.mark.parametrize("case", REFUSED_BODIES, ids=[c[0] for c in REFUSED_BODIES])
def test_openapi_document_does_not_promise_what_the_api_refuses(case: tuple[str, Any]) -> None:
    """Empty labels and an empty matcher are 400s, so the document must call them invalid."""
    name, body = case
    doc = openapi.full_document()
    validator = jsonschema.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    )
    assert not validator.is_valid(body)
    params = doc["paths"]["/api/v1/incidents"]["get"]["parameters"]
    [matcher] = [p for p in params if p["name"] == "matcher"]
    assert not jsonschema.Draft4Validator(matcher["schema"]).is_valid([""])


async def test_expire_reports_what_it_did_before_an_error(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    """`silences expire 1 99`: silence 1 is listed as expired, then 99's error; exit 1."""
    served = await serve()
    code, _, err = await _cli(capsys, "silences", "add", 'a="b"', "--url", served.url)
    assert code == 0, err
    code, out, err = await _cli(capsys, "silences", "expire", "1", "99", "--url", served.url)
    assert code == 1
    assert out.splitlines()[1].split()[:2] == ["1", "expired"]
    assert "404: no silence with id 99" in err


async def test_daemon_down_is_one_plain_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: one line naming the URL and the reason, without urllib's wrapper."""
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = await _cli(capsys, "incidents", "list", "--url", url)
    assert code == 1
    expected = f"aiwatch incidents: cannot reach {url}: Connection refused"
    assert err.strip().splitlines() == [expected]
