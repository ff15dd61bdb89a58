"""The native API kinds against the mock: every fault of the chat tests gives its error type,
and TTFT, tokens and cost agree with what the mock was told, streamed or not."""

import time
from typing import Any

import pytest

from aiwatch.config.model import Price, Secret
from aiwatch.probes import ProbeResult
from tests.probes_kinds.conftest import API_KEY, Mock

KINDS = ["anthropic_messages", "openai_responses", "gemini"]

# fault → (status, error_type) as each API answers the mock's named faults.
ERRORS: dict[str, dict[str, tuple[int, str]]] = {
    "anthropic_messages": {
        "rate_limited": (429, "rate_limited"),
        "quota_exceeded": (400, "quota_exceeded"),
        "context_length_exceeded": (400, "context_length_exceeded"),
        "content_filter": (400, "content_filter"),
        "server_error": (500, "server_error"),
        "overloaded": (529, "overloaded"),
        "invalid_api_key": (401, "client_error"),
    },
    "openai_responses": {
        "rate_limited": (429, "rate_limited"),
        "quota_exceeded": (429, "quota_exceeded"),
        "context_length_exceeded": (400, "context_length_exceeded"),
        "content_filter": (400, "content_filter"),
        "server_error": (500, "server_error"),
        "overloaded": (503, "server_error"),
        "invalid_api_key": (401, "client_error"),
    },
    "gemini": {
        "rate_limited": (429, "rate_limited"),
        "quota_exceeded": (429, "quota_exceeded"),
        "context_length_exceeded": (400, "context_length_exceeded"),
        "content_filter": (200, "content_filter"),
        "server_error": (500, "server_error"),
        "overloaded": (503, "overloaded"),
        "invalid_api_key": (400, "client_error"),
    },
}
# The end of a stream each API must send, named in the failure when it is missing.
TERMINAL = {
    "anthropic_messages": "message_stop",
    "openai_responses": "response.completed",
    "gemini": "finishReason",
}


async def probe(mock: Mock, kind: str, behavior: dict[str, Any], **fields: Any) -> ProbeResult:
    """One probe of a ``kind`` target at the mock, the mock told ``behavior``."""
    return await mock.probe(mock.target(kind=kind, request={"mock": behavior}, **fields))


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_timings_tokens_and_cost_match_the_mock(mock: Mock, kind: str) -> None:
    """TTFT 0.2 s, 11 tokens at 50/s: TTFT, duration, TPOT, tokens and cost agree."""
    behavior = {
        "time_to_first_token": 0.2,
        "tokens_per_second": 50,
        "output_tokens": 11,
        "input_tokens": 1000,
    }
    price = Price(input_per_million=3.0, output_per_million=15.0)
    result = await probe(mock, kind, behavior, stream=True, price=price)
    assert result.success, result.error
    assert result.time_to_first_byte is not None
    # Never faster than the mock was told; the upper bounds leave room for a loaded machine.
    assert result.time_to_first_byte < 0.2
    assert result.time_to_first_token is not None
    assert 0.2 <= result.time_to_first_token <= 0.45
    assert 0.4 <= result.duration <= 0.8
    assert result.time_per_output_token is not None
    assert 0.018 <= result.time_per_output_token <= 0.04
    assert (result.input_tokens, result.output_tokens) == (1000, 11)
    assert result.output_tokens_estimated is False  # usage wins over counting chunks
    assert result.cost_usd == pytest.approx((1000 * 3.0 + 11 * 15.0) / 1e6)
    assert result.response_excerpt == "pong" + " pong" * 10


@pytest.mark.parametrize("kind", KINDS)
async def test_whole_answer_duration_text_and_tokens_match_the_mock(mock: Mock, kind: str) -> None:
    """Not streamed: the answer waits for the whole generation; text and usage are read."""
    behavior = {"time_to_first_token": 0.1, "tokens_per_second": 20, "reply": "one two three"}
    target = mock.target(kind=kind, request={"mock": behavior}, expect={"contains": "two"})
    result = await mock.probe(target)
    assert result.success, result.error
    # 0.1 s to the first token, two more at 20/s.
    assert 0.2 <= result.duration <= 0.5
    assert result.time_to_first_token is None
    assert result.output_tokens == 3
    assert result.input_tokens == 6  # the words of "Reply with the single word: pong"
    assert [(c.name, c.ok) for c in result.checks] == [("status", True), ("contains", True)]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "fault",
    [
        "rate_limited",
        "quota_exceeded",
        "context_length_exceeded",
        "content_filter",
        "server_error",
        "overloaded",
    ],
)
async def test_named_faults_get_their_error_type(
    mock: Mock, kind: str, fault: str, stream: bool
) -> None:
    """Each fault, answered in the API's own error shape, maps to its documented cause."""
    status, error_type = ERRORS[kind][fault]
    result = await probe(mock, kind, {"fault": fault}, stream=stream)
    assert (result.success, result.status_code, result.error_type) == (False, status, error_type)
    assert result.error is not None
    # Gemini answers a blocked prompt with a 200 that says so.
    assert result.error.startswith(f"HTTP {status}" if status >= 400 else "the prompt was blocked")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("status", "error_type"), [(404, "client_error"), (502, "server_error")])
async def test_bare_statuses_are_classified_by_class(
    mock: Mock, kind: str, status: int, error_type: str
) -> None:
    """A status without a named fault: 4xx is client_error, 5xx server_error."""
    result = await probe(mock, kind, {"status": status})
    assert (result.status_code, result.error_type) == (status, error_type)


@pytest.mark.parametrize("kind", KINDS)
async def test_wrong_key_is_a_client_error(mock: Mock, kind: str) -> None:
    """The mock checks the key where the API carries it: a wrong one is a client_error."""
    status, error_type = ERRORS[kind]["invalid_api_key"]
    result = await mock.probe(mock.target(kind=kind, api_key=Secret("wrong-key")))
    assert (result.status_code, result.error_type) == (status, error_type)


@pytest.mark.parametrize("kind", KINDS)
async def test_error_inside_a_stream_is_a_stream_error(mock: Mock, kind: str) -> None:
    """An error event after two chunks: stream_error, status 200, first token kept."""
    result = await probe(mock, kind, {"output_tokens": 5, "stream_error_after": 2}, stream=True)
    assert (result.success, result.status_code, result.error_type) == (False, 200, "stream_error")
    assert result.error is not None
    assert result.error.startswith("error inside the stream")
    assert result.time_to_first_token is not None


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_without_its_terminal_event_is_a_stream_error(mock: Mock, kind: str) -> None:
    """A stream that ends without the API's last event fails with stream_error naming it."""
    result = await probe(mock, kind, {"omit_done": True}, stream=True)
    assert result.error_type == "stream_error"
    assert result.error is not None
    assert TERMINAL[kind] in result.error


@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_event_is_an_invalid_response(mock: Mock, kind: str) -> None:
    """Invalid JSON in an event after one good chunk: invalid_response."""
    result = await probe(mock, kind, {"output_tokens": 3, "malformed_after": 1}, stream=True)
    assert result.error_type == "invalid_response"
    assert result.error is not None
    assert "invalid JSON in a stream event" in result.error


@pytest.mark.parametrize("kind", KINDS)
async def test_stalled_stream_times_out(mock: Mock, kind: str) -> None:
    """A stream that stalls after 2 chunks fails with timeout at the 0.5 s timeout."""
    behavior = {"output_tokens": 6, "stall_after": 2, "time_to_first_token": 0.05}
    started = time.perf_counter()
    result = await probe(mock, kind, behavior, stream=True, timeout=0.5)
    assert time.perf_counter() - started <= 1.5
    assert result.error_type == "timeout"
    # The timeout starts just before the request does: the duration may be a little short.
    assert 0.45 <= result.duration <= 0.9
    assert result.time_to_first_token is not None
    assert 0.05 <= result.time_to_first_token <= 0.2


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", KINDS)
async def test_filtered_reply_is_a_content_filter_failure(
    mock: Mock, kind: str, stream: bool
) -> None:
    """A 200 answer the API marks as filtered (refusal, SAFETY, …) fails with content_filter."""
    result = await probe(mock, kind, {"finish_reason": "content_filter"}, stream=stream)
    assert (result.status_code, result.error_type) == (200, "content_filter")


@pytest.mark.parametrize("kind", KINDS)
async def test_comments_and_multi_line_events_are_parsed(mock: Mock, kind: str) -> None:
    """Keep-alive comments and events split over two data: lines read as the plain stream."""
    behavior = {"sse_comments": True, "split_data_lines": True, "reply": "the quick brown fox"}
    result = await probe(mock, kind, behavior, stream=True)
    assert result.success, result.error
    assert result.response_excerpt == "the quick brown fox"
    assert result.output_tokens == 4


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_answered_as_json_is_an_invalid_response(mock: Mock, kind: str) -> None:
    """A stream request answered with application/json fails as invalid_response."""
    behavior = {"headers": {"Content-Type": "application/json"}}
    result = await probe(mock, kind, behavior, stream=True)
    assert result.error_type == "invalid_response"
    assert result.error == "asked for a stream but got Content-Type 'application/json'"


@pytest.mark.parametrize("kind", KINDS)
async def test_answer_without_usage_is_invalid_unless_streamed(mock: Mock, kind: str) -> None:
    """Not streamed, an answer without usage is invalid; streamed, it passes without usage."""
    plain = await probe(mock, kind, {"omit_usage": True})
    assert plain.error_type == "invalid_response"
    streamed = await probe(mock, kind, {"omit_usage": True, "output_tokens": 3}, stream=True)
    assert streamed.success, streamed.error
    assert streamed.input_tokens is None


@pytest.mark.parametrize("kind", KINDS)
async def test_stall_timeout_fails_a_stalled_stream_as_stalled(mock: Mock, kind: str) -> None:
    """With stall_timeout 0.3 s, a stream that stalls after 2 chunks fails with stream_stalled
    about 0.3 s after its last chunk, long before the 3 s timeout."""
    behavior = {"output_tokens": 6, "stall_after": 2, "time_to_first_token": 0.05}
    started = time.perf_counter()
    result = await probe(mock, kind, behavior, stream=True, timeout=3.0, stall_timeout=0.3)
    assert time.perf_counter() - started <= 2.0
    assert result.error_type == "stream_stalled"
    assert 0.35 <= result.duration <= 1.0


@pytest.mark.parametrize("kind", KINDS)
async def test_chunk_gaps_follow_the_mocks_pace(mock: Mock, kind: str) -> None:
    """Six chunks at 20/s: five gaps of about 50 ms each, the longest about 50 ms."""
    behavior = {"output_tokens": 6, "tokens_per_second": 20}
    result = await probe(mock, kind, behavior, stream=True)
    assert result.success, result.error
    assert result.content_chunks == 6
    assert sum(result.chunk_gap_counts) == 5
    assert 0.2 <= result.chunk_gap_sum <= 0.45
    assert result.longest_chunk_gap is not None
    assert 0.04 <= result.longest_chunk_gap <= 0.2
    assert result.stream_buffered is False


@pytest.mark.parametrize("kind", KINDS)
async def test_buffered_stream_is_flagged(mock: Mock, kind: str) -> None:
    """A stream the mock holds and sends in one write is flagged buffered."""
    behavior = {"output_tokens": 30, "tokens_per_second": 200, "buffer_stream": True}
    result = await probe(mock, kind, behavior, stream=True)
    assert result.success, result.error
    assert result.stream_buffered is True


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_without_usage_counts_tokens_from_chunks(mock: Mock, kind: str) -> None:
    """No usage in the stream: output tokens are its 5 content chunks, marked estimated."""
    behavior = {"omit_usage": True, "output_tokens": 5, "tokens_per_second": 100}
    result = await probe(mock, kind, behavior, stream=True)
    assert result.success, result.error
    assert (result.output_tokens, result.output_tokens_estimated) == (5, True)
    assert result.time_per_output_token is not None


@pytest.mark.parametrize("kind", KINDS)
async def test_the_key_is_redacted_in_the_request_summary(mock: Mock, kind: str) -> None:
    """The key travels in the API's own header, shown as <secret> in the debug summary."""
    result = await probe(mock, kind, {})
    assert result.success, result.error
    assert API_KEY not in result.request_summary
    header = {"anthropic_messages": "x-api-key", "gemini": "x-goog-api-key"}.get(
        kind, "Authorization"
    )
    assert f"{header}: <secret>" in result.request_summary


THINKING_KINDS = ["anthropic_messages", "gemini"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", THINKING_KINDS)
async def test_thinking_counts_as_output_but_not_as_reply(
    mock: Mock, kind: str, stream: bool
) -> None:
    """Three words of thinking at 0.2 s, then the reply at 20/s: the first token is the first
    thinking chunk, the reply text leaves the thinking out, output tokens count both."""
    behavior = {
        "thinking": "let me see",
        "reply": "pong",
        "time_to_first_token": 0.2,
        "tokens_per_second": 20,
    }
    result = await probe(mock, kind, behavior, stream=stream, expect={"regex": "^pong$"})
    assert result.success, result.error
    assert result.output_tokens == 4
    if stream:
        assert result.time_to_first_token is not None
        assert 0.2 <= result.time_to_first_token <= 0.35
        assert result.content_chunks == 4
        assert 0.35 <= result.duration <= 0.6  # the reply came three chunks after the first
