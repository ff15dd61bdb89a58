"""The ``openai_responses`` kind: its request, and the final statuses a response can end in."""

import pytest

from tests.probes_kinds.conftest import API_KEY, Mock


async def test_request_sends_input_messages_unstored_with_the_bearer_key(mock: Mock) -> None:
    """POST /responses with model, the prompt as input messages, store false, request merged."""
    prompt = ({"role": "developer", "content": "be terse"}, {"role": "user", "content": "hi"})
    target = mock.target(
        kind="openai_responses",
        stream=True,
        prompts=("ping", prompt),
        request={"max_output_tokens": 16},
    )
    for index in range(2):
        assert (await mock.probe(target, prompt_index=index)).success
    first, second = await mock.control("GET", "/_mock/requests")
    assert first["path"] == "/v1/responses"
    assert first["authorization"] == f"Bearer {API_KEY}"
    assert first["body"] == {
        "model": "mock-gpt",
        "input": [{"role": "user", "content": "ping"}],
        "store": False,
        "max_output_tokens": 16,
        "stream": True,
    }
    assert second["body"]["input"] == list(prompt)


@pytest.mark.parametrize("stream", [False, True])
async def test_failed_response_is_a_server_error(mock: Mock, stream: bool) -> None:
    """A response whose status is failed (response.failed when streamed) is a server_error."""
    target = mock.target(
        kind="openai_responses", stream=stream, request={"mock": {"finish_reason": "failed"}}
    )
    result = await mock.probe(target)
    assert (result.status_code, result.error_type) == (200, "server_error")
    assert result.error is not None
    assert result.error.startswith("the response failed: The model failed.")


@pytest.mark.parametrize("stream", [False, True])
async def test_response_cut_at_max_output_tokens_passes(mock: Mock, stream: bool) -> None:
    """An incomplete response for max_output_tokens is a complete probe, with its usage."""
    behavior = {"finish_reason": "length", "output_tokens": 3}
    target = mock.target(kind="openai_responses", stream=stream, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.output_tokens == 3
    assert "pong pong pong" in result.response_excerpt


async def test_ratelimit_headers_and_model_are_recorded(mock: Mock) -> None:
    """x-ratelimit-remaining-* and the response's model reach the result."""
    behavior = {
        "ratelimit_remaining_requests": 7,
        "ratelimit_remaining_tokens": 900,
        "model": "gpt-5-mini-2025-08-07",
    }
    target = mock.target(kind="openai_responses", request={"mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert (result.ratelimit_remaining_requests, result.ratelimit_remaining_tokens) == (7, 900)
    assert result.response_model == "gpt-5-mini-2025-08-07"
