"""Streaming chat probes against the mock endpoint: timings, tokens and every stream fault."""

import time

import pytest

from aiwatch.config.model import Price
from tests.probes_kinds.conftest import API_KEY, Mock


async def test_streaming_timings_match_what_the_mock_was_told(mock: Mock) -> None:
    """TTFT, duration and time per output token track the mock's 200 ms TTFT and 50 tok/s."""
    behavior = {"time_to_first_token": 0.2, "tokens_per_second": 50, "output_tokens": 11}
    target = mock.target(stream=True, request={"max_tokens": 16, "mock": behavior})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.error_type is None
    assert result.time_to_first_byte is not None
    assert result.time_to_first_byte < 0.15  # headers come first, the tokens later
    assert result.time_to_first_token is not None
    assert 0.2 <= result.time_to_first_token <= 0.35
    # 10 more tokens at 50/s after the first: 0.2 s.
    assert 0.4 <= result.duration <= 0.6
    assert result.time_per_output_token is not None
    assert 0.018 <= result.time_per_output_token <= 0.03
    assert result.output_tokens == 11
    assert result.input_tokens == 6  # the words of "Reply with the single word: pong"
    assert result.response_excerpt == "pong" + " pong" * 10


async def test_stream_request_asks_for_usage_and_sends_the_key(mock: Mock) -> None:
    """The streamed request carries stream, stream_options.include_usage, model and bearer."""
    target = mock.target(stream=True, request={"temperature": 0})
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["body"]["stream"] is True
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert sent["body"]["model"] == "mock-gpt"
    assert sent["body"]["temperature"] == 0
    assert sent["body"]["messages"] == [
        {"role": "user", "content": "Reply with the single word: pong"}
    ]


async def test_configured_authorization_header_replaces_the_api_key(mock: Mock) -> None:
    """A configured authorization header (any case) is sent instead of the bearer api_key."""
    from aiwatch.config.model import Secret

    target = mock.target(
        api_key=Secret("sk-not-this-one"), headers={"authorization": Secret(f"Bearer {API_KEY}")}
    )
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["authorization_headers"] == 1


async def test_prompts_are_used_in_turn_and_message_lists_are_sent_as_is(mock: Mock) -> None:
    """prompt_index picks prompts modulo their number; a messages list is sent unchanged."""
    messages = ({"role": "system", "content": "be terse"}, {"role": "user", "content": "hi"})
    target = mock.target(prompts=("first prompt", messages))
    for index in range(3):
        assert (await mock.probe(target, prompt_index=index)).success
    sent = [r["body"]["messages"] for r in await mock.control("GET", "/_mock/requests")]
    assert sent == [
        [{"role": "user", "content": "first prompt"}],
        list(messages),
        [{"role": "user", "content": "first prompt"}],
    ]


async def test_empty_role_chunk_is_not_the_first_token(mock: Mock) -> None:
    """The role chunk (empty content) comes at once; TTFT waits for real content at 0.3 s."""
    target = mock.target(stream=True, request={"mock": {"time_to_first_token": 0.3}})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.time_to_first_byte is not None
    assert result.time_to_first_byte < 0.15
    assert result.time_to_first_token is not None
    assert 0.3 <= result.time_to_first_token <= 0.45
    # One output token: time per output token is undefined.
    assert result.output_tokens == 1
    assert result.time_per_output_token is None


async def test_comments_and_multi_line_data_events_are_parsed(mock: Mock) -> None:
    """SSE comments are skipped and a chunk split over two data: lines is one event."""
    behavior = {"sse_comments": True, "split_data_lines": True, "reply": "the quick brown fox"}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert result.success, result.error
    assert result.response_excerpt == "the quick brown fox"
    assert result.output_tokens == 4


async def test_error_object_inside_a_200_stream_is_a_stream_error(mock: Mock) -> None:
    """An error event after two chunks fails the probe with stream_error, status still 200."""
    behavior = {"output_tokens": 5, "stream_error_after": 2}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert not result.success
    assert result.error_type == "stream_error"
    assert result.status_code == 200
    assert result.error == (
        "error inside the stream: The server had an error while processing your request."
    )
    assert result.time_to_first_token is not None


async def test_stream_without_done_is_a_stream_error(mock: Mock) -> None:
    """A stream that ends without data: [DONE] fails with stream_error."""
    result = await mock.probe(mock.target(stream=True, request={"mock": {"omit_done": True}}))
    assert not result.success
    assert result.error_type == "stream_error"
    assert result.error == "stream ended without data: [DONE]"


async def test_stalled_stream_times_out_at_the_timeout(mock: Mock) -> None:
    """A stream that stalls after 2 chunks fails with timeout, within the 0.5 s timeout."""
    behavior = {"output_tokens": 6, "stall_after": 2, "time_to_first_token": 0.05}
    target = mock.target(stream=True, timeout=0.5, request={"mock": behavior})
    started = time.perf_counter()
    result = await mock.probe(target)
    elapsed = time.perf_counter() - started
    assert not result.success
    assert result.error_type == "timeout"
    assert 0.5 <= result.duration <= 0.8
    assert elapsed <= 1.0
    assert result.time_to_first_token is not None
    assert 0.05 <= result.time_to_first_token <= 0.2
    assert result.error is not None
    assert "after the first token" in result.error


async def test_slow_headers_time_out_at_the_timeout(mock: Mock) -> None:
    """A server that takes 5 s to send headers fails a 0.4 s probe with timeout in time."""
    target = mock.target(stream=True, timeout=0.4, request={"mock": {"latency": 5}})
    started = time.perf_counter()
    result = await mock.probe(target)
    assert time.perf_counter() - started <= 0.9
    assert result.error_type == "timeout"
    assert result.status_code is None
    assert result.time_to_first_byte is None
    assert 0.4 <= result.duration <= 0.7
    assert result.error is not None
    assert "waiting for the response headers" in result.error


async def test_invalid_json_in_a_chunk_is_an_invalid_response(mock: Mock) -> None:
    """A malformed chunk after one good one fails the probe with invalid_response."""
    behavior = {"output_tokens": 3, "malformed_after": 1}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert not result.success
    assert result.error_type == "invalid_response"
    assert result.error is not None
    assert "invalid JSON in a stream chunk" in result.error


async def test_finish_reason_content_filter_fails_the_stream(mock: Mock) -> None:
    """A stream finishing with finish_reason content_filter is a content_filter failure."""
    behavior = {"finish_reason": "content_filter"}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert result.error_type == "content_filter"
    assert not result.success


async def test_stream_without_usage_counts_output_tokens_from_chunks(mock: Mock) -> None:
    """An endpoint ignoring include_usage: the probe passes and its output tokens are the
    content chunks, marked estimated; input tokens stay unknown, cost comes from the output."""
    behavior = {"omit_usage": True, "output_tokens": 4, "tokens_per_second": 50}
    target = mock.target(
        stream=True, request={"mock": behavior}, price=Price(output_per_million=2.0)
    )
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.output_tokens == 4
    assert result.output_tokens_estimated
    assert result.input_tokens is None
    assert result.cost_usd == pytest.approx(4 * 2.0 / 1e6)
    assert result.time_to_first_token is not None
    # 3 gaps of 20 ms each between the 4 chunks.
    assert result.time_per_output_token == pytest.approx(0.02, abs=0.015)


async def test_stream_larger_than_max_body_bytes_fails(mock: Mock) -> None:
    """A stream past max_body_bytes fails with invalid_response instead of reading on."""
    behavior = {"output_tokens": 400}
    target = mock.target(stream=True, max_body_bytes=4096, request={"mock": behavior})
    result = await mock.probe(target)
    assert result.error_type == "invalid_response"
    assert result.error == "stream larger than max_body_bytes (4096)"


async def test_identity_ratelimit_headers_and_cost_are_recorded(mock: Mock) -> None:
    """Response model, fingerprint, x-ratelimit-remaining-* and price × usage reach the result."""
    from aiwatch.config.model import Price

    behavior = {
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "ratelimit_remaining_requests": 499,
        "ratelimit_remaining_tokens": 149_000,
        "output_tokens": 4,
        "input_tokens": 1000,
    }
    target = mock.target(
        stream=True,
        price=Price(input_per_million=0.15, output_per_million=0.60),
        request={"mock": behavior},
    )
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.response_model == "gpt-4o-mini-2024-07-18"
    assert result.system_fingerprint == "fp_44709d6fcb"
    assert result.ratelimit_remaining_requests == 499
    assert result.ratelimit_remaining_tokens == 149_000
    assert result.cost_usd is not None
    assert abs(result.cost_usd - (1000 * 0.15 + 4 * 0.60) / 1e6) < 1e-12


async def test_stream_answered_with_another_media_type_is_an_invalid_response(mock: Mock) -> None:
    """An endpoint that answers a stream request with application/json fails as invalid."""
    behavior = {"headers": {"Content-Type": "application/json"}}
    result = await mock.probe(mock.target(stream=True, request={"mock": behavior}))
    assert result.error_type == "invalid_response"
    assert result.error == "asked for a stream but got Content-Type 'application/json'"
