"""The ``gemini`` kind: its request, and how RESOURCE_EXHAUSTED and SAFETY are told apart."""

import pytest

from aiwatch.probes.errors import classify_gemini
from tests.probes_kinds.conftest import API_KEY, Mock


@pytest.mark.parametrize(
    ("stream", "path", "query"),
    [
        (False, "/v1/models/mock-gpt:generateContent", {}),
        (True, "/v1/models/mock-gpt:streamGenerateContent", {"alt": "sse"}),
    ],
)
async def test_request_names_model_and_method_and_carries_the_key(
    mock: Mock, stream: bool, path: str, query: dict[str, str]
) -> None:
    """The model and method are in the path (alt=sse to stream), the key in x-goog-api-key;
    system turns become systemInstruction and assistant turns the model role."""
    prompt = (
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "ping"},
    )
    target = mock.target(
        kind="gemini",
        stream=stream,
        prompts=(prompt,),
        request={"generationConfig": {"maxOutputTokens": 16}},
    )
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert (sent["path"], sent["query"]) == (path, query)
    assert sent["headers"]["x-goog-api-key"] == API_KEY
    assert sent["authorization"] is None
    assert sent["body"] == {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"role": "user", "parts": [{"text": "ping"}]},
        ],
        "systemInstruction": {"parts": [{"text": "be terse"}]},
        "generationConfig": {"maxOutputTokens": 16},
    }


@pytest.mark.parametrize("stream", [False, True])
async def test_safety_finish_reason_is_a_content_filter(mock: Mock, stream: bool) -> None:
    """finishReason SAFETY on a 200 answer fails the probe with content_filter."""
    target = mock.target(
        kind="gemini", stream=stream, request={"mock": {"finish_reason": "content_filter"}}
    )
    result = await mock.probe(target)
    assert (result.status_code, result.error_type) == (200, "content_filter")
    assert result.error == "finishReason is SAFETY"


def _exhausted(quota_id: str | None, message: str) -> dict[str, object]:
    error: dict[str, object] = {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": message}
    if quota_id is not None:
        violation = {"quotaId": quota_id}
        error["details"] = [{"@type": "QuotaFailure", "violations": [violation]}]
    return {"error": error}


def test_resource_exhausted_is_quota_or_rate_limit_as_the_body_says() -> None:
    """A per-day quota id (or a billing message) is quota_exceeded; a per-minute one, or none,
    rate_limited; 503 overloaded is overloaded, other 503s server errors."""
    daily = _exhausted("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quota")
    assert classify_gemini(429, daily)[0] == "quota_exceeded"
    minute = _exhausted("GenerateRequestsPerMinutePerProjectPerModel", "please check billing")
    assert classify_gemini(429, minute)[0] == "rate_limited"
    assert classify_gemini(429, _exhausted(None, "check your plan and billing"))[0] == (
        "quota_exceeded"
    )
    assert classify_gemini(429, _exhausted(None, "Resource has been exhausted"))[0] == (
        "rate_limited"
    )
    busy = {"error": {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}}
    assert classify_gemini(503, busy) == (
        "overloaded",
        "HTTP 503 (UNAVAILABLE): The model is overloaded.",
    )
    down = {"error": {"code": 503, "status": "UNAVAILABLE", "message": "Service unavailable"}}
    assert classify_gemini(503, down)[0] == "server_error"
