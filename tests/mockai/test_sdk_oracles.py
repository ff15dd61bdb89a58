"""The official SDKs read the mock's answers: whole and streamed, without error, with the text
and usage the mock was told to send. They are the oracle that the mock speaks each API."""

from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from openai.types.responses import ResponseErrorEvent

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


def _openai(mock_root: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=mock_root + "/v1", api_key="sdk-key", max_retries=0)


async def test_openai_sdk_reads_a_whole_response(mock_root: str) -> None:
    """``responses.create``: ``output_text`` and the usage as the mock was told."""
    async with _openai(mock_root) as client:
        response = await client.responses.create(model="gpt-mock", input="hi")
    assert response.status == "completed"
    assert response.output_text == REPLY
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 4)


async def test_openai_sdk_reads_a_response_stream(mock_root: str) -> None:
    """``responses.create(stream=True)`` yields typed events whose deltas are the reply, and
    ``responses.stream`` accumulates them into the same final response."""
    async with _openai(mock_root) as client:
        events = [
            e
            async for e in await client.responses.create(model="gpt-mock", input="hi", stream=True)
        ]
        async with client.responses.stream(model="gpt-mock", input="hi") as stream:
            final = await stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == REPLY
    assert len(deltas) == 4
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert final.output_text == REPLY
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 4)


async def test_openai_sdk_raises_the_mocks_errors(mock_root: str) -> None:
    """A 429 is the SDK's ``RateLimitError``; an ``error`` event mid-stream is the SDK's typed
    ``ResponseErrorEvent``, ending the stream."""
    async with _openai(mock_root) as client:
        with pytest.raises(openai.RateLimitError):
            await client.responses.create(
                model="gpt-mock", input="hi", extra_headers={"x-mock-behavior": _RATE_LIMITED}
            )
        stream = await client.responses.create(
            model="gpt-mock",
            input="hi",
            stream=True,
            extra_headers={"x-mock-behavior": '{"stream_error_after": 1}'},
        )
        events = [event async for event in stream]
    assert [e.type for e in events][-2:] == ["response.output_text.delta", "error"]
    assert isinstance(events[-1], ResponseErrorEvent)
    assert events[-1].code == "server_error"


_RATE_LIMITED = '{"fault": "rate_limited"}'


def _genai(mock_root: str) -> genai.Client:
    return genai.Client(api_key="sdk-key", http_options=genai_types.HttpOptions(base_url=mock_root))


async def test_genai_sdk_reads_a_whole_answer(mock_root: str) -> None:
    """``models.generate_content``: the text and the usage metadata as the mock was told."""
    response = await _genai(mock_root).aio.models.generate_content(
        model="gemini-mock", contents="hi"
    )
    assert response.text == REPLY
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert response.usage_metadata is not None
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (12, 4)


async def test_genai_sdk_reads_a_stream(mock_root: str) -> None:
    """``models.generate_content_stream``: chunks whose texts are the reply, the last one
    with the finish reason and the usage metadata."""
    stream = await _genai(mock_root).aio.models.generate_content_stream(
        model="gemini-mock", contents="hi"
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(chunk.text or "" for chunk in chunks) == REPLY
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == (
        12,
        4,
    )


async def test_genai_sdk_raises_the_mocks_errors(mock_root: str) -> None:
    """A 429 RESOURCE_EXHAUSTED is the SDK's ``ClientError`` with code 429; an error chunk
    mid-stream is raised by the SDK as an ``APIError``."""
    client = _genai(mock_root)
    with pytest.raises(genai_errors.ClientError) as caught:
        await client.aio.models.generate_content(
            model="gemini-mock",
            contents="hi",
            config=genai_types.GenerateContentConfig(
                http_options=genai_types.HttpOptions(headers={"x-mock-behavior": _RATE_LIMITED})
            ),
        )
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")
    behavior = genai_types.HttpOptions(headers={"x-mock-behavior": '{"stream_error_after": 1}'})
    stream = await client.aio.models.generate_content_stream(
        model="gemini-mock",
        contents="hi",
        config=genai_types.GenerateContentConfig(http_options=behavior),
    )
    with pytest.raises(genai_errors.APIError):
        await _drain(stream)


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


async def test_openai_sdk_reads_chat_completions_whole_and_streamed(mock_root: str) -> None:
    """``chat.completions.create``: the text and usage, whole and streamed (with
    ``include_usage``); ``embeddings.create`` reads the vectors."""
    messages: Any = [{"role": "user", "content": "hi"}]
    async with _openai(mock_root) as client:
        whole = await client.chat.completions.create(model="gpt-mock", messages=messages)
        stream = await client.chat.completions.create(
            model="gpt-mock",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        vectors = await client.embeddings.create(model="embed-mock", input=["a", "b"])
    assert whole.choices[0].message.content == REPLY
    assert whole.usage is not None
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (12, 4)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (12, 4)
    assert [len(item.embedding) for item in vectors.data] == [8, 8]


async def test_sdks_read_thinking_apart_from_the_reply(mock_root: str) -> None:
    """Streamed thinking is the SDKs' own thinking block (Anthropic, with its signature) and
    thought parts (Gemini), apart from the reply text."""
    behavior = '{"thinking": "let me see", "reply": "pong"}'
    client = anthropic.AsyncAnthropic(base_url=mock_root, api_key="sdk-key", max_retries=0)
    async with (
        client,
        client.messages.stream(
            model="claude-mock",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-mock-behavior": behavior},
        ) as stream,
    ):
        final = await stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "let me see"  # type: ignore[union-attr]
    assert final.content[0].signature == "mock"  # type: ignore[union-attr]
    assert final.content[1].text == "pong"  # type: ignore[union-attr]
    assert final.usage.output_tokens == 4
    options = genai_types.HttpOptions(headers={"x-mock-behavior": behavior})
    chunks = [
        chunk
        async for chunk in await _genai(mock_root).aio.models.generate_content_stream(
            model="gemini-mock",
            contents="hi",
            config=genai_types.GenerateContentConfig(http_options=options),
        )
    ]
    parts = [p for c in chunks if c.candidates for p in c.candidates[0].content.parts or ()]  # type: ignore[union-attr]
    assert "".join(p.text or "" for p in parts if p.thought) == "let me see"
    assert "".join(p.text or "" for p in parts if not p.thought) == "pong"
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.thoughts_token_count == 3


async def test_genai_sdk_gets_a_404_for_a_method_the_mock_does_not_speak(
    mock_root: str,
) -> None:
    """``count_tokens`` (``:countTokens``) is not answered as if it were ``generateContent``:
    the SDK raises a 404 instead of returning a count of ``None``; ``generate_content``
    under the same model still answers."""
    client = _genai(mock_root)
    with pytest.raises(genai_errors.ClientError) as caught:
        await client.aio.models.count_tokens(model="gemini-mock", contents="hi")
    assert caught.value.code == 404
    answer = await client.aio.models.generate_content(model="gemini-mock", contents="hi")
    assert answer.text == REPLY
