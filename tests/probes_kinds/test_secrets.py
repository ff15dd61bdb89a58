"""Secrets never leak: not in errors, request summaries, excerpts or the result's repr."""

import pytest

from aiwatch.config.model import Secret
from tests.probes_kinds.conftest import API_KEY, Mock

HEADER_SECRET = "hdr-planted-SECRET-987654"


@pytest.mark.parametrize(
    "behavior",
    [
        # OpenAI echoes (part of) a wrong key in its 401 message; here the whole key.
        {"status": 401, "error": {"code": "invalid_api_key", "message": f"Bad key {API_KEY}"}},
        {"raw_body": f'{{"echo": "{API_KEY} {HEADER_SECRET}"}}'},
        {"reply": f"your key is {API_KEY} and {HEADER_SECRET}"},
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_planted_secrets_are_redacted_everywhere(
    mock: Mock, behavior: dict[str, object], stream: bool
) -> None:
    """An endpoint echoing the API key and a secret header cannot make the result show them."""
    target = mock.target(
        stream=stream,
        headers={"X-Org-Token": Secret(HEADER_SECRET)},
        request={"mock": behavior},
    )
    result = await mock.probe(target)
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["authorization"] == f"Bearer {API_KEY}"  # they were really sent
    assert sent["headers"]["X-Org-Token"] == HEADER_SECRET
    text = repr(result)
    assert API_KEY not in text
    assert HEADER_SECRET not in text
    assert "Authorization: <secret>" in result.request_summary
    assert "X-Org-Token: <secret>" in result.request_summary


async def test_secret_in_the_url_is_not_in_connection_errors(mock: Mock) -> None:
    """A connection error message never repeats a secret even when the URL contained it."""
    target = mock.target(
        url=f"http://127.0.0.1:1/{API_KEY}", headers={"X-Org-Token": Secret(HEADER_SECRET)}
    )
    result = await mock.probe(target)
    assert result.error_type == "connection"
    assert API_KEY not in repr(result)
