"""Without basic-auth users, a state-changing request must name aiwatch by a loopback name or
address (or one of ``web.allowed_hosts``) in its ``Host``: DNS rebinding cannot reach it."""

import json
from pathlib import Path

from aiwatch.web.auth import host_name
from tests.incidents.conftest import Serve, Served

SILENCE = {"matchers": ['severity=~".+"'], "endsAt": "2099-01-01T00:00:00Z", "createdBy": "x"}


async def _post_silence(served: Served, host: str) -> tuple[int, object]:
    # What a rebound page sends: its own origin, same-origin to the browser.
    headers = {
        "Host": host,
        "Origin": f"http://{host}",
        "Sec-Fetch-Site": "same-origin",
        "Content-Type": "text/plain",
    }
    return await served.call("POST", "/api/v1/silences", data=json.dumps(SILENCE), headers=headers)


async def test_rebinding_host_is_refused(serve: Serve) -> None:
    """A POST whose Host is the attacker's name is a 403 that says why, and creates nothing;
    reads with that Host stay open."""
    served = await serve()
    port = served.url.rsplit(":", 1)[1]
    for host in (f"rebind.evil.example:{port}", "rebind.evil.example", f"10.0.0.1:{port}"):
        status, body = await _post_silence(served, host)
        assert status == 403, (host, body)
        assert isinstance(body, dict)
        assert body["errorType"] == "forbidden"
        assert "not a loopback name or address nor in web.allowed_hosts" in body["error"]
    status, listing = await served.call(
        "GET", "/api/v1/silences", headers={"Host": f"rebind.evil.example:{port}"}
    )
    assert (status, listing) == (200, {"status": "success", "data": []})


async def test_loopback_hosts_pass(serve: Serve) -> None:
    """localhost, *.localhost, 127.0.0.1 and [::1], with or without a port, are aiwatch's own."""
    served = await serve()
    port = served.url.rsplit(":", 1)[1]
    for host in ("localhost", f"LOCALHOST:{port}", "app.localhost.", f"127.0.0.1:{port}", "[::1]"):
        status, body = await _post_silence(served, host)
        assert status == 201, (host, body)


async def test_allowed_hosts_pass(serve: Serve, tmp_path: Path) -> None:
    """A name in ``web.allowed_hosts`` (a reverse proxy's) is accepted, in any case."""
    served = await serve()
    (tmp_path / "aiwatch.yml").write_text("web:\n  allowed_hosts: [AIWatch.Internal.example]\n")
    assert (await served.call("POST", "/-/reload"))[0] == 200
    status, body = await _post_silence(served, "aiwatch.internal.example:9531")
    assert status == 201, body
    status, body = await _post_silence(served, "other.internal.example")
    assert status == 403, body


def test_host_name_drops_the_port_and_case() -> None:
    """The Host header's name part, as compared with the loopback names and the allowed list."""
    assert host_name("Example.COM:9531") == "example.com"
    assert host_name("[::1]:9531") == "[::1]"
    assert host_name("localhost.") == "localhost"
    assert host_name("[::1") == "[::1"
