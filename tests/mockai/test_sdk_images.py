"""The official ``openai`` SDK reads mock-ai's image generations: the oracle that the mock
speaks OpenAI's images API, base64 and URL answers alike."""

import base64
import io
from typing import Any

import aiohttp
import openai
import pytest
from PIL import Image as PilImage

from aiwatch.mockai import make_mock_app


@pytest.fixture
async def mock_root(aiohttp_server: Any) -> str:
    """The mock at 127.0.0.1, port 0, with an API key."""
    app = make_mock_app(seed=1, api_key="sdk-key")
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}"


def client(root: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{root}/v1", api_key="sdk-key", max_retries=0)


async def test_openai_sdk_reads_base64_images(mock_root: str) -> None:
    """``images.generate``: n images as base64 PNGs of the asked size, and the usage."""
    async with client(mock_root) as sdk:
        answer = await sdk.images.generate(
            model="gpt-image-1",
            prompt="a red fox in snow",
            size="1024x1536",
            n=2,
            extra_body={"mock": {"input_tokens": 9, "output_tokens": 272}},
        )
    assert answer.data is not None
    assert len(answer.data) == 2
    assert answer.data[0].b64_json is not None
    raw = base64.b64decode(answer.data[0].b64_json)
    with PilImage.open(io.BytesIO(raw)) as image:
        assert (image.format, image.size) == ("PNG", (1024, 1536))
    assert answer.data[0].revised_prompt == "a red fox in snow"
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (9, 272)
    assert answer.usage.total_tokens == 281


async def test_openai_sdk_reads_an_image_url(mock_root: str) -> None:
    """``response_format="url"``: the URL serves the PNG of the asked size."""
    async with client(mock_root) as sdk:
        answer = await sdk.images.generate(
            model="dall-e-3", prompt="a lighthouse", size="1792x1024", response_format="url"
        )
    assert answer.data is not None
    url = answer.data[0].url
    assert url is not None
    assert url.startswith(mock_root + "/")
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        raw = await response.read()
    with PilImage.open(io.BytesIO(raw)) as image:
        assert (image.format, image.size) == ("PNG", (1792, 1024))


async def test_openai_sdk_raises_the_safety_refusal(mock_root: str) -> None:
    """The content filter fault is the SDK's BadRequestError with content_policy_violation."""
    async with client(mock_root) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.images.generate(
                model="dall-e-3", prompt="x", extra_body={"mock": {"fault": "content_filter"}}
            )
    assert caught.value.code == "content_policy_violation"
    assert caught.value.status_code == 400
