"""Error taxonomy: status codes, OpenAI error bodies and connection failures to error_type."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.config.model import Secret
from aiwatch.probes import ERROR_TYPES
from aiwatch.probes.errors import classify_status
from tests.probes_kinds.conftest import Mock


@pytest.mark.parametrize(
    ("behavior", "status", "error_type"),
    [
        ({"fault": "rate_limited"}, 429, "rate_limited"),
        ({"status": 429, "error": {"code": None, "type": "tokens"}}, 429, "rate_limited"),
        ({"fault": "quota_exceeded"}, 429, "quota_exceeded"),
        ({"fault": "quota_exceeded", "status": 403}, 403, "quota_exceeded"),
        ({"fault": "context_length_exceeded"}, 400, "context_length_exceeded"),
        ({"fault": "content_filter"}, 400, "content_filter"),
        ({"fault": "server_error"}, 500, "server_error"),
        ({"fault": "overloaded"}, 503, "server_error"),
        ({"status": 502}, 502, "server_error"),
        ({"status": 404}, 404, "client_error"),
        ({"status": 400}, 400, "client_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_error_answers_are_classified(
    mock: Mock, behavior: dict[str, object], status: int, error_type: str, stream: bool
) -> None:
    """Each OpenAI-shaped error answer maps to its cause, streamed or not, and fails the probe."""
    result = await mock.probe(mock.target(stream=stream, request={"mock": behavior}))
    assert not result.success
    assert result.status_code == status
    assert result.error_type == error_type
    assert result.error is not None
    assert result.error.startswith(f"HTTP {status}")
    assert [c.name for c in result.checks] == ["status"]
    assert not result.checks[0].ok


async def test_wrong_api_key_is_a_client_error(mock: Mock) -> None:
    """The mock enforces its key: a 401 invalid_api_key is a client_error."""
    result = await mock.probe(mock.target(api_key=Secret("sk-wrong")))
    assert result.status_code == 401
    assert result.error_type == "client_error"


async def test_embeddings_errors_are_classified_too(mock: Mock) -> None:
    """The embeddings probe classifies error answers with the same taxonomy."""
    target = mock.target(kind="openai_embeddings", request={"mock": {"fault": "rate_limited"}})
    result = await mock.probe(target)
    assert result.error_type == "rate_limited"


def test_error_codes_win_over_status_classes() -> None:
    """insufficient_quota beats 429; a rate-limit code on a 5xx stays a server error."""
    quota = {"error": {"type": "insufficient_quota", "code": "insufficient_quota"}}
    assert classify_status(429, quota)[0] == "quota_exceeded"
    rate = {"error": {"code": "rate_limit_exceeded", "message": "slow down"}}
    assert classify_status(429, rate) == (
        "rate_limited",
        "HTTP 429 (rate_limit_exceeded): slow down",
    )
    assert classify_status(503, rate)[0] == "server_error"
    assert classify_status(400, {"error": "plain string"}) == (
        "client_error",
        "HTTP 400: plain string",
    )
    assert classify_status(418, None) == ("client_error", "HTTP 418")


async def test_refused_connection_is_a_connection_error(mock: Mock) -> None:
    """Nothing listening on the port: connection, quickly."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result = await mock.probe(mock.target(url=f"http://127.0.0.1:{port}/v1"))
    assert result.error_type == "connection"
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("cannot connect")


@pytest.fixture
async def resetting_server() -> AsyncIterator[int]:
    """A TCP server that reads the request and then drops the connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_reset_connection_is_a_connection_error(mock: Mock, resetting_server: int) -> None:
    """A server that drops the connection without answering: connection."""
    result = await mock.probe(mock.target(url=f"http://127.0.0.1:{resetting_server}/v1"))
    assert result.error_type == "connection"


async def test_tls_failure_is_a_connection_error(mock: Mock) -> None:
    """Speaking TLS to a plain-HTTP port fails the handshake: connection, named as TLS."""
    result = await mock.probe(mock.target(url=mock.url.replace("http://", "https://")))
    assert result.error_type == "connection"
    assert result.error is not None
    assert "TLS" in result.error


async def test_huge_error_body_is_still_classified_by_status(mock: Mock) -> None:
    """A 503 with a 200 KB non-JSON body is a server_error, not a body-size failure."""
    behavior = {"status": 503, "raw_body": "x" * 200_000}
    result = await mock.probe(mock.target(request={"mock": behavior}))
    assert (result.status_code, result.error_type, result.error) == (
        503,
        "server_error",
        f"HTTP 503 (POST {mock.url}/chat/completions)",
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
error_bodies = st.fixed_dictionaries(
    {
        "error": st.fixed_dictionaries(
            {},
            optional={
                "code": st.sampled_from(["rate_limit_exceeded", "insufficient_quota", "x"])
                | json_values,
                "type": st.sampled_from(["insufficient_quota", "requests"]) | json_values,
                "message": json_values,
            },
        )
    }
)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(300, 599), body=json_values | error_bodies)
def test_every_error_answer_gets_exactly_one_known_cause(status: int, body: object) -> None:
    """Any status and any JSON body classify into the taxonomy with an HTTP-status message."""
    cause, message = classify_status(status, body)
    assert cause in ERROR_TYPES
    assert cause not in ("timeout", "connection", "validation_failed", "stream_error")
    assert message.startswith(f"HTTP {status}")
    if status >= 500:
        assert cause in (
            "server_error",
            "quota_exceeded",
            "context_length_exceeded",
            "content_filter",
        )
