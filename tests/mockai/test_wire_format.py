"""What the mock sends on the wire: OpenAI's completion, stream and embedding shapes."""

import json
import math

import aiohttp

CHAT = {"model": "mock-gpt", "messages": [{"role": "user", "content": "say it"}]}


async def read_events(response: aiohttp.ClientResponse) -> list[str]:
    text = (await response.read()).decode()
    return [block.removeprefix("data: ") for block in text.split("\n\n") if block]


async def test_stream_is_role_content_finish_usage_done(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """A stream asking for usage: role chunk, one chunk per word, finish, usage, [DONE]."""
    body = {
        **CHAT,
        "stream": True,
        "stream_options": {"include_usage": True},
        "mock": {"reply": "hello there"},
    }
    async with http.post(f"{mock_url}/v1/chat/completions", json=body) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = await read_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:3]] == ["hello", " there"]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[4]["choices"] == []
    assert chunks[4]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1


async def test_stream_without_include_usage_has_no_usage_chunk(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """Without stream_options.include_usage the stream carries no usage, like OpenAI."""
    async with http.post(f"{mock_url}/v1/chat/completions", json={**CHAT, "stream": True}) as r:
        events = await read_events(r)
    assert not any("usage" in json.loads(e) for e in events[:-1])


async def test_error_answers_and_rate_limit_headers(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """A fault answers with its status, an OpenAI error object and the asked-for headers."""
    mock = {"fault": "quota_exceeded", "ratelimit_remaining_requests": 0}
    async with http.post(f"{mock_url}/v1/chat/completions", json={**CHAT, "mock": mock}) as r:
        assert r.status == 429
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
        error = (await r.json())["error"]
    assert error["code"] == "insufficient_quota"
    assert error["type"] == "insufficient_quota"
    assert error["message"]


async def test_embeddings_are_deterministic_unit_vectors(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """The same input gives the same unit vector of the configured dimension; NaN on request."""
    body = {"model": "mock-embedding", "input": ["a", "b"], "mock": {"embedding_dimensions": 16}}
    replies = []
    for _ in range(2):
        async with http.post(f"{mock_url}/v1/embeddings", json=body) as r:
            replies.append(await r.json())
    assert replies[0] == replies[1]
    vectors = [d["embedding"] for d in replies[0]["data"]]
    assert [len(v) for v in vectors] == [16, 16]
    assert vectors[0] != vectors[1]
    assert abs(math.sqrt(sum(x * x for x in vectors[0])) - 1.0) < 1e-9
    nan_body = {**body, "mock": {"embedding_nan": True}}
    async with http.post(f"{mock_url}/v1/embeddings", json=nan_body) as r:
        assert "NaN" in await r.text()
