"""The official SDKs read the mock's answers: whole and streamed, without error, with the text
and usage the mock was told to send. They are the oracle that the mock speaks each API."""

from typing import Any

import anthropic
import pytest

from aiwatch.mockai import MOCK, make_mock_app

REPLY = "the quick brown fox"
BEHAVIOR = {"reply": REPLY, "input_tokens": 12, "tokens_per_second": 500}


@pytest.fixture
async def mock_root(aiohttp_server: Any) -> str:
    """The mock at 127.0.0.1, port 0, telling every answer ``BEHAVIOR``."""
    app = make_mock_app(seed=1, behavior=BEHAVIOR, api_key="sdk-key")
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    assert app[MOCK].api_key == "sdk-key"
    return f"http://127.0.0.1:{server.port}"


async def test_anthropic_sdk_reads_a_whole_message(mock_root: str) -> None:
    """``messages.create``: the text and the usage as the mock was told."""
    client = anthropic.AsyncAnthropic(base_url=mock_root, api_key="sdk-key", max_retries=0)
    async with client:
        message = await client.messages.create(
            model="claude-mock", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == REPLY  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 4)


async def test_anthropic_sdk_reads_a_stream(mock_root: str) -> None:
    """``messages.stream``: every text delta, and the final message's text and usage."""
    client = anthropic.AsyncAnthropic(base_url=mock_root, api_key="sdk-key", max_retries=0)
    async with (
        client,
        client.messages.stream(
            model="claude-mock", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == REPLY
    assert len(texts) == 4
    assert final.content[0].text == REPLY  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 4)


async def test_anthropic_sdk_raises_the_mocks_overload(mock_root: str) -> None:
    """A 529 answer is the SDK's own ``OverloadedError``, and a mid-stream error event is
    raised by the SDK too: the mock's error shapes are the API's."""
    client = anthropic.AsyncAnthropic(base_url=mock_root, api_key="sdk-key", max_retries=0)
    async with client:
        with pytest.raises(anthropic.OverloadedError) as caught:
            await client.messages.create(
                model="claude-mock",
                max_tokens=64,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-mock-behavior": '{"fault": "overloaded"}'},
            )
        assert caught.value.status_code == 529
        assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
        with pytest.raises(anthropic.APIStatusError):
            await _read_whole_stream(client, '{"stream_error_after": 1}')


async def _read_whole_stream(client: anthropic.AsyncAnthropic, behavior: str) -> str:
    """Stream a message through the SDK, the mock told ``behavior``; the text read."""
    async with client.messages.stream(
        model="claude-mock",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-mock-behavior": behavior},
    ) as stream:
        return "".join([text async for text in stream.text_stream])
