"""Plain HTTP probes: method, headers, body, and the status, text and JSON Schema checks."""

from typing import Any

from aiwatch.config.model import Secret
from tests.probes_kinds.conftest import API_KEY, Mock

MODELS_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "array", "minItems": 1}},
}


async def test_get_with_every_check_passing(mock: Mock) -> None:
    """GET /v1/models passes status, contains, regex and json_schema; each verdict is kept."""
    target = mock.target(
        kind="http",
        url=mock.url + "/models",
        expect={
            "status": (200,),
            "contains": "mock-gpt",
            "regex": r'"object":\s*"list"',
            "json_schema": MODELS_SCHEMA,
            "max_duration": 1.0,
        },
    )
    result = await mock.probe(target)
    assert result.success, result.error
    assert [(c.name, c.ok) for c in result.checks] == [
        ("status", True),
        ("contains", True),
        ("regex", True),
        ("json_schema", True),
        ("max_duration", True),
    ]
    assert result.request_summary.startswith(f"GET {mock.url}/models")


async def test_failed_checks_are_validation_failed_and_named(mock: Mock) -> None:
    """Failing contains, regex and schema checks fail the probe and each says why."""
    target = mock.target(
        kind="http",
        url=mock.url + "/models",
        expect={
            "contains": "gpt-5",
            "regex": "^nope",
            "json_schema": {"type": "object", "required": ["models"]},
        },
    )
    result = await mock.probe(target)
    assert not result.success
    assert result.error_type == "validation_failed"
    verdicts = {c.name: c for c in result.checks}
    assert verdicts["status"].ok
    assert not verdicts["contains"].ok
    assert not verdicts["regex"].ok
    assert not verdicts["json_schema"].ok
    assert "'models' is a required property" in verdicts["json_schema"].detail
    assert result.error is not None
    assert result.error.startswith("contains: 'gpt-5' not found; regex:")


async def test_post_sends_json_body_and_secret_headers(mock: Mock) -> None:
    """A dict body goes out as JSON and configured headers are sent with their real values."""
    target = mock.target(
        kind="http",
        method="POST",
        url=mock.url + "/chat/completions",
        api_key=None,
        headers={"Authorization": Secret(f"Bearer {API_KEY}"), "X-Team": Secret("vision")},
        body={"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]},
        expect={"json_schema": {"type": "object", "required": ["choices"]}},
    )
    result = await mock.probe(target)
    assert result.success, result.error
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["headers"]["X-Team"] == "vision"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"]["messages"] == [{"role": "user", "content": "hi"}]
    assert "vision" not in result.request_summary
    assert "X-Team: <secret>" in result.request_summary


async def test_non_2xx_without_expected_status_is_classified(mock: Mock) -> None:
    """With no expect.status, a 5xx is a server_error and a 404 a client_error."""
    result = await mock.probe(mock.target(kind="http", url=mock.url + "/chat/completions"))
    assert (result.status_code, result.error_type) == (405, "client_error")
    target = mock.target(
        kind="http",
        method="POST",
        url=mock.url + "/chat/completions",
        body={"model": "m", "messages": [], "mock": {"fault": "overloaded"}},
    )
    result = await mock.probe(target)
    assert (result.status_code, result.error_type) == (503, "server_error")


async def test_expected_status_list_decides(mock: Mock) -> None:
    """expect.status [405] makes a 405 pass; a 200 against [204] is validation_failed."""
    url = mock.url + "/chat/completions"
    result = await mock.probe(mock.target(kind="http", url=url, expect={"status": (405,)}))
    assert result.success, result.error
    target = mock.target(kind="http", url=mock.url + "/models", expect={"status": (204,)})
    result = await mock.probe(target)
    assert result.error_type == "validation_failed"
    assert result.checks[0].detail == "status 200 is not one of 204"


async def test_http_body_cap(mock: Mock) -> None:
    """An http probe whose body exceeds max_body_bytes fails with invalid_response."""
    target = mock.target(kind="http", url=mock.url + "/models", max_body_bytes=16)
    result = await mock.probe(target)
    assert result.error_type == "invalid_response"


async def test_redirects_are_not_followed(aiohttp_server: Any, mock: Mock) -> None:
    """A 302 to another host is not followed (secrets stay home): the status check fails.

    Following it would have answered 200 from the mock.
    """
    from aiohttp import web

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(mock.url + "/models")

    app = web.Application()
    app.router.add_get("/", redirect)
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    target = mock.target(kind="http", url=f"http://127.0.0.1:{server.port}/")
    result = await mock.probe(target)
    assert (result.status_code, result.error_type) == (302, "validation_failed")
    accepted = mock.target(kind="http", url=target.url, expect={"status": (302,)})
    assert (await mock.probe(accepted)).success
