"""The mock's control API: layered behaviours, statistics, reset and the seeded error rate."""

import time
from typing import Any

import aiohttp

CHAT = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]}


async def chat(
    http: aiohttp.ClientSession, base: str, body: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[int, Any]:
    async with http.post(f"{base}/v1/chat/completions", json=body or CHAT, **kwargs) as r:
        return r.status, await r.json()


async def test_layers_override_in_order_default_model_body_header(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """Header beats body ``mock`` beats the per-model layer beats the default layer."""
    await http.post(f"{mock_url}/_mock/behavior", json={"model": "from-default", "reply": "a b"})
    await http.post(f"{mock_url}/_mock/behavior?model=mock-gpt", json={"model": "from-model"})
    assert (await chat(http, mock_url))[1]["model"] == "from-model"
    assert (await chat(http, mock_url, {**CHAT, "model": "other"}))[1]["model"] == "from-default"
    body = {**CHAT, "mock": {"model": "from-body"}}
    status, reply = await chat(http, mock_url, body)
    assert (status, reply["model"]) == (200, "from-body")
    assert reply["choices"][0]["message"]["content"] == "a b"  # default layer still applies
    header = {"x-mock-behavior": '{"model": "from-header"}'}
    assert (await chat(http, mock_url, body, headers=header))[1]["model"] == "from-header"
    async with http.get(f"{mock_url}/_mock/behavior") as r:
        assert await r.json() == {
            "default": {"model": "from-default", "reply": "a b"},
            "models": {"mock-gpt": {"model": "from-model"}},
        }
    async with http.get(f"{mock_url}/v1/models") as r:
        assert [m["id"] for m in (await r.json())["data"]] == ["mock-gpt", "mock-embedding"]


async def test_unknown_or_mistyped_behaviour_is_a_400(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """A typo in a behaviour key or a wrong type is rejected with an OpenAI-shaped 400."""
    async with http.post(f"{mock_url}/_mock/behavior", json={"latncy": 1}) as r:
        assert r.status == 400
        assert "unknown behaviour key 'latncy'" in (await r.json())["error"]["message"]
    status, reply = await chat(http, mock_url, {**CHAT, "mock": {"output_tokens": "many"}})
    assert status == 400
    assert reply["error"]["code"] == "mock_behavior"
    status, _ = await chat(http, mock_url, {**CHAT, "mock": {"fault": "gremlins"}})
    assert status == 400


async def test_behaviour_values_http_cannot_carry_are_a_400(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """A status outside 200–599, a header that is not a string or holds a line break, a bad
    header name, and a rate of 0 tokens per second are refused when set, rather than
    accepted and then breaking every answer (a dropped connection or a 500)."""
    bad = [
        ({"status": 99}, "must be an HTTP status from 200 to 599, got 99"),
        ({"status": 1000}, "must be an HTTP status from 200 to 599, got 1000"),
        ({"headers": {"x-count": 1}}, "the value of 'x-count' must be a string"),
        ({"headers": {"x-evil": "a\r\nset-cookie: b"}}, "without line breaks"),
        ({"headers": {"bad name": "v"}}, "'bad name' is not a valid HTTP header name"),
        ({"tokens_per_second": 0}, "'tokens_per_second' must be positive"),
    ]
    for layer, message in bad:
        async with http.post(f"{mock_url}/_mock/behavior", json=layer) as r:
            assert r.status == 400, layer
            assert message in (await r.json())["error"]["message"]
        status, reply = await chat(http, mock_url, {**CHAT, "mock": layer})
        assert (status, reply["error"]["code"]) == (400, "mock_behavior")
    async with http.get(f"{mock_url}/_mock/behavior") as r:
        assert await r.json() == {"default": {}, "models": {}}
    status, _ = await chat(http, mock_url)
    assert status == 200
    good = {"status": 302, "headers": {"x-request-id": "r1"}, "tokens_per_second": 0.5}
    async with http.post(f"{mock_url}/_mock/behavior", json=good) as r:
        assert r.status == 200


async def test_stats_count_requests_by_path_model_and_status(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """/_mock/stats counts every answered request, and reset clears the counts."""
    await chat(http, mock_url)
    await chat(http, mock_url, {**CHAT, "mock": {"fault": "rate_limited"}})
    embed = {"model": "mock-embedding", "input": "x"}
    async with http.post(f"{mock_url}/v1/embeddings", json=embed) as r:
        assert r.status == 200
    async with http.get(f"{mock_url}/_mock/stats") as r:
        stats = await r.json()
    assert stats["requests"] == 3
    assert stats["in_flight"] == 0
    assert stats["by_path"] == {"/v1/chat/completions": 2, "/v1/embeddings": 1}
    assert stats["by_model"] == {"mock-gpt": 2, "mock-embedding": 1}
    assert stats["by_status"] == {"200": 2, "429": 1}
    async with http.post(f"{mock_url}/_mock/reset", json={"seed": 5}) as r:
        assert await r.json() == {"seed": 5}
    async with http.get(f"{mock_url}/_mock/stats") as r:
        assert (await r.json())["requests"] == 0


async def test_error_rate_is_random_but_repeatable_with_a_seed(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """error_rate 0.5 fails about half the requests, in the same pattern after a re-seed."""

    async def pattern() -> list[int]:
        await http.post(f"{mock_url}/_mock/reset", json={"seed": 42})
        await http.post(f"{mock_url}/_mock/behavior", json={"error_rate": 0.5})
        return [(await chat(http, mock_url))[0] for _ in range(40)]

    first = await pattern()
    assert set(first) == {200, 500}
    assert 10 <= first.count(500) <= 30
    assert await pattern() == first


async def test_error_rate_with_a_fault_sends_that_fault_sometimes(
    mock_url: str, http: aiohttp.ClientSession
) -> None:
    """error_rate 0.3 with fault rate_limited: some 429s, the rest normal replies."""
    await http.post(f"{mock_url}/_mock/behavior", json={"error_rate": 0.3, "fault": "rate_limited"})
    statuses = [(await chat(http, mock_url))[0] for _ in range(40)]
    assert set(statuses) == {200, 429}


async def test_latency_jitter_spreads_latencies(mock_url: str, http: aiohttp.ClientSession) -> None:
    """latency 50 ms with 100 ms jitter: every answer takes 50–200 ms and they differ."""
    await http.post(f"{mock_url}/_mock/behavior", json={"latency": 0.05, "latency_jitter": 0.1})
    took = []
    for _ in range(8):
        started = time.perf_counter()
        assert (await chat(http, mock_url))[0] == 200
        took.append(time.perf_counter() - started)
    assert all(0.05 <= t <= 0.25 for t in took), took
    assert max(took) - min(took) > 0.02, took
