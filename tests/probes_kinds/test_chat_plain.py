"""Non-streaming chat probes against the mock endpoint: reply, usage and body faults."""

import time

from tests.probes_kinds.conftest import Mock


async def test_plain_completion_duration_tracks_the_generation_time(mock: Mock) -> None:
    """A non-streamed reply arrives after TTFT + generation (0.1 + 4/20 s); no TTFT is claimed."""
    behavior = {"time_to_first_token": 0.1, "tokens_per_second": 20, "output_tokens": 5}
    result = await mock.probe(mock.target(request={"mock": behavior}))
    assert result.success, result.error
    assert 0.3 <= result.duration <= 0.45
    assert result.time_to_first_byte is not None
    assert 0.3 <= result.time_to_first_byte <= result.duration
    assert result.time_to_first_token is None
    assert result.time_per_output_token is None
    assert (result.input_tokens, result.output_tokens) == (6, 5)
    assert result.response_model == "mock-gpt"
    assert result.system_fingerprint == "fp_mock"


async def test_plain_request_does_not_stream(mock: Mock) -> None:
    """Without stream: true the body has no stream or stream_options, even if request says so."""
    target = mock.target(request={"stream": True, "max_tokens": 4})
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert "stream" not in sent["body"]
    assert "stream_options" not in sent["body"]
    assert sent["body"]["max_tokens"] == 4


async def test_completion_without_usage_is_an_invalid_response(mock: Mock) -> None:
    """A reply with no usage object fails with invalid_response."""
    result = await mock.probe(mock.target(request={"mock": {"omit_usage": True}}))
    assert result.error_type == "invalid_response"
    assert result.error == "the completion has no valid usage"


async def test_body_that_is_not_json_is_an_invalid_response(mock: Mock) -> None:
    """A 200 whose body is not JSON fails with invalid_response."""
    result = await mock.probe(mock.target(request={"mock": {"raw_body": "<html>oops</html>"}}))
    assert result.error_type == "invalid_response"
    assert result.status_code == 200
    assert result.error is not None
    assert result.error.startswith("the completion is not valid JSON")


async def test_json_without_choices_is_an_invalid_response(mock: Mock) -> None:
    """A JSON object without choices fails with invalid_response."""
    result = await mock.probe(mock.target(request={"mock": {"raw_body": '{"usage": {}}'}}))
    assert result.error_type == "invalid_response"
    assert result.error == "the completion has no choices"


async def test_finish_reason_content_filter_fails_a_plain_reply(mock: Mock) -> None:
    """A 200 reply cut by the content filter is a content_filter failure."""
    result = await mock.probe(mock.target(request={"mock": {"finish_reason": "content_filter"}}))
    assert result.error_type == "content_filter"


async def test_endless_body_is_cut_at_max_body_bytes(mock: Mock) -> None:
    """A body that never ends fails with invalid_response at max_body_bytes, well in time."""
    target = mock.target(
        max_body_bytes=200_000, timeout=3, request={"mock": {"endless_body": True}}
    )
    started = time.perf_counter()
    result = await mock.probe(target)
    assert time.perf_counter() - started < 1.5
    assert result.error_type == "invalid_response"
    assert result.error == "response body larger than max_body_bytes (200000)"


async def test_endless_body_under_a_large_cap_times_out(mock: Mock) -> None:
    """With a cap too big to reach in time, the endless body ends at the timeout instead."""
    behavior = {"endless_body": True}
    target = mock.target(max_body_bytes=10**12, timeout=0.5, request={"mock": behavior})
    started = time.perf_counter()
    result = await mock.probe(target)
    assert time.perf_counter() - started <= 0.9
    assert result.error_type == "timeout"
    assert result.status_code == 200
    assert result.error is not None
    assert "reading the response body" in result.error
