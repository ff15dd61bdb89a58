"""Hostile or malformed request bodies are 4xx ``bad_data`` answers, never a 500."""

import pytest

from .conftest import Serve

DEEP = 50_000
"""Nesting far past Python's recursion limit, yet well under the 1 MiB body limit."""


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v2/alerts", "[" * DEEP),
        ("/api/v1/silences", '{"matchers":' * DEEP),
        ("/api/v1/incidents/1/acknowledge", '{"by":' * DEEP),
    ],
)
async def test_deeply_nested_json_is_bad_data(serve: Serve, path: str, body: str) -> None:
    """A body nested deeper than the JSON parser can recurse is a 400 naming it, not a 500."""
    served = await serve()
    status, answer = await served.call(
        "POST", path, data=body, headers={"Content-Type": "application/json"}
    )
    assert status == 400, answer
    assert answer == {
        "status": "error",
        "errorType": "bad_data",
        "error": "request body is nested too deeply",
    }
