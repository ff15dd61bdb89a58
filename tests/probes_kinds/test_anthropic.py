"""The ``anthropic_messages`` kind: its request, headers, rate limits and overload handling."""

from aiwatch.config.model import Secret
from aiwatch.probes.errors import classify_anthropic
from tests.probes_kinds.conftest import API_KEY, Mock


async def test_request_carries_key_version_max_tokens_and_system(mock: Mock) -> None:
    """x-api-key and anthropic-version are sent, no bearer; system turns go to ``system``."""
    prompt = ({"role": "system", "content": "be terse"}, {"role": "user", "content": "hi"})
    target = mock.target(
        kind="anthropic_messages", stream=True, prompts=(prompt,), request={"temperature": 0}
    )
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["x-api-key"] == API_KEY
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["authorization"] is None
    assert sent["body"] == {
        "model": "mock-gpt",
        "max_tokens": 256,
        "system": "be terse",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0,
        "stream": True,
    }


async def test_configured_max_tokens_and_headers_win(mock: Mock) -> None:
    """``request`` overrides the default max_tokens; a configured header is sent as well."""
    target = mock.target(
        kind="anthropic_messages",
        request={"max_tokens": 16},
        headers={"anthropic-beta": Secret("output-128k-2025-02-19")},
    )
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["body"]["max_tokens"] == 16
    assert "stream" not in sent["body"]
    assert sent["headers"]["anthropic-beta"] == "output-128k-2025-02-19"


async def test_ratelimit_headers_and_model_are_recorded(mock: Mock) -> None:
    """anthropic-ratelimit-*-remaining become the requests and tokens headroom."""
    behavior = {
        "ratelimit_remaining_requests": 49,
        "ratelimit_remaining_tokens": 39_000,
        "model": "claude-sonnet-4-5-20250929",
    }
    target = mock.target(kind="anthropic_messages", stream=True, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.ratelimit_remaining_requests == 49
    assert result.ratelimit_remaining_tokens == 39_000
    assert result.response_model == "claude-sonnet-4-5-20250929"


async def test_overloaded_error_inside_a_stream_is_overloaded(mock: Mock) -> None:
    """An ``overloaded_error`` event mid-stream is ``overloaded``, not a generic stream error."""
    behavior = {"stream_error_after": 1, "error": {"type": "overloaded_error"}}
    target = mock.target(kind="anthropic_messages", stream=True, request={"mock": behavior})
    result = await mock.probe(target)
    assert (result.status_code, result.error_type) == (200, "overloaded")
    assert result.error is not None
    assert result.error.startswith(
        "error inside the stream: overloaded_error: Internal server error"
    )


async def test_overload_is_told_by_status_or_type() -> None:
    """529 is overloaded whatever the body; so is overloaded_error on another status."""
    assert classify_anthropic(529, None) == ("overloaded", "HTTP 529")
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert classify_anthropic(503, body) == (
        "overloaded",
        "HTTP 503 (overloaded_error): Overloaded",
    )
    limited = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}
    assert classify_anthropic(429, limited)[0] == "rate_limited"
    auth = {"type": "error", "error": {"type": "authentication_error", "message": "bad"}}
    assert classify_anthropic(401, auth)[0] == "client_error"
