"""A web config that breaks never turns basic auth off: aiwatch keeps it or refuses to answer."""

from pathlib import Path

from .conftest import Serve, basic, write_web_config


async def test_file_broken_before_the_first_request_keeps_its_users(
    serve: Serve, tmp_path: Path
) -> None:
    """Valid at start-up, invalid (then gone) before anyone called: still 401 without a password."""
    web_config = write_web_config(tmp_path)
    served = await serve(web_config=web_config)
    web_config.write_text("basic_auth_users: [\n")
    status, body = await served.call("GET", "/api/v1/incidents")
    assert status == 401, body
    assert (await served.call("GET", "/api/v1/incidents", headers=basic("bob")))[0] == 200
    web_config.unlink()
    status, body = await served.call("GET", "/api/v1/status/config")
    assert status == 401, body


async def test_file_never_valid_fails_closed(serve: Serve, tmp_path: Path) -> None:
    """A web config that was never valid in the process answers 500 to every request."""
    web_config = tmp_path / "web.yml"
    web_config.write_text("basic_auth_users: [\n")
    served = await serve(web_config=web_config)
    for path in ("/api/v1/incidents", "/metrics", "/-/healthy"):
        status, body = await served.call("GET", path)
        assert status == 500, (path, body)
        assert body["errorType"] == "internal"
        assert "web config file is unreadable or invalid" in body["error"]
