"""State-changing routes refuse requests a browser sends for a page of another site (CSRF)."""

import json
from pathlib import Path

import pytest

from .conftest import Serve, Served, basic, write_web_config

SILENCE = {"matchers": ['severity=~".+"'], "endsAt": "2099-01-01T00:00:00Z", "createdBy": "x"}


async def _post_silence(served: Served, headers: dict[str, str]) -> tuple[int, object]:
    # The body a page can send without a CORS preflight: JSON text declared as text/plain.
    return await served.call(
        "POST",
        "/api/v1/silences",
        data=json.dumps(SILENCE),
        headers={"Content-Type": "text/plain", **headers},
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_cross_site_post_from_loopback_is_refused(
    serve: Serve, headers: dict[str, str]
) -> None:
    """No web config, a loopback peer: a browser's cross-site POST is a 403 and changes nothing."""
    served = await serve()
    status, body = await _post_silence(served, headers)
    assert status == 403, body
    assert isinstance(body, dict)
    assert body["errorType"] == "forbidden"
    assert "cross-site request refused" in body["error"]
    status, listing = await served.call("GET", "/api/v1/silences", headers=headers)
    assert status == 200  # reads stay open; the browser's CORS keeps their answers private
    assert listing == {"status": "success", "data": []}


async def test_cross_site_post_with_an_admin_password_is_refused(
    serve: Serve, tmp_path: Path
) -> None:
    """Credentials a browser remembered do not make another site's POST an admin's."""
    served = await serve(admin_users=("alice",), web_config=write_web_config(tmp_path))
    headers = {**basic("alice"), "Origin": "https://evil.example"}
    status, body = await served.call("POST", "/-/reload", headers=headers)
    assert status == 403, body


async def test_same_origin_and_non_browser_posts_pass(serve: Serve) -> None:
    """curl and scripts (no Origin) and pages served by aiwatch's own origin are not refused."""
    served = await serve()
    own = served.url  # e.g. http://127.0.0.1:PORT, which is the request's Host
    for headers in (
        {},
        {"Origin": own},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
    ):
        status, body = await _post_silence(served, headers)
        assert status == 201, (headers, body)
