"""The ``openai_images`` probe: one image generation, the image decoded and measured."""

import base64
import binascii
from typing import Any

import aiohttp

from aiwatch.config.imagefile import NotAnImage, image_info
from aiwatch.config.model import Target
from aiwatch.config.prompts import ImagePrompt
from aiwatch.probes.errors import ProbeFailure, classify_body_error
from aiwatch.probes.exchange import (
    Measurement,
    Request,
    fail_on_error_status,
    json_request,
    parse_json,
    read_body,
    send,
)


def images_request(target: Target, *, prompt_index: int) -> Request:
    """The request: model, the next prompt, one image of the size ``expect.image`` asks for,
    ``request`` merged in (``n``, ``size``, ``quality``, ``response_format``…)."""
    prompt = target.prompts[prompt_index % len(target.prompts)]
    if isinstance(prompt, ImagePrompt):
        text = prompt.text
    elif isinstance(prompt, str):
        text = prompt
    else:  # the config refuses conversations for this kind; the last turn is the prompt
        text = prompt[-1].get("content", "") if prompt else ""
    payload: dict[str, Any] = {"model": target.model, "prompt": text, "n": 1}
    if target.expect.image is not None:
        payload["size"] = "{}x{}".format(*target.expect.image)
    payload.update(target.request)
    return json_request(target, "/images/generations", payload)


async def probe_images(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one image generation into ``m``; raise ``ProbeFailure`` for a known fault."""
    request = images_request(target, prompt_index=prompt_index)
    async with await send(session, request, m) as response:
        await fail_on_error_status(response, m, target.max_body_bytes)
        body = await read_body(response, m, target.max_body_bytes)
    first = _read_images(parse_json(body, "the images response"), m)
    if isinstance(first.get("b64_json"), str):
        try:
            data = base64.b64decode(first["b64_json"], validate=True)
        except binascii.Error:
            raise ProbeFailure("invalid_response", "data[0].b64_json is not base64") from None
    elif isinstance(first.get("url"), str):
        data = await _fetch(session, first["url"], m, target.max_body_bytes)
    else:
        raise ProbeFailure("invalid_response", "data[0] has neither b64_json nor url")
    try:
        m.image = image_info(data)
    except NotAnImage as err:
        raise ProbeFailure("invalid_response", f"the image is {err}") from None


def _read_images(reply: Any, m: Measurement) -> dict[str, Any]:
    """The first image of the answer; records the number of images, usage and the revised
    prompt (what ``contains`` and ``regex`` look at)."""
    if not isinstance(reply, dict):
        raise ProbeFailure("invalid_response", "the images response is not a JSON object")
    in_body = classify_body_error(reply)
    if in_body is not None:
        raise ProbeFailure(*in_body)
    data = reply.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ProbeFailure("invalid_response", "the images response has no data")
    m.images = len(data)
    revised = data[0].get("revised_prompt")
    m.text = revised if isinstance(revised, str) else ""
    usage = reply.get("usage")
    if isinstance(usage, dict):
        inputs, outputs = usage.get("input_tokens"), usage.get("output_tokens")
        if _count(inputs) and _count(outputs):
            m.input_tokens, m.output_tokens = inputs, outputs
    return data[0]


async def _fetch(session: aiohttp.ClientSession, url: str, m: Measurement, limit: int) -> bytes:
    """The image at ``url``, through the probe's session, within ``max_body_bytes``. No key
    goes with it: the URL is the image host's, and carries its own signature."""
    if not url.startswith(("http://", "https://")):
        raise ProbeFailure("invalid_response", "data[0].url is not an http(s) URL")
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            msg = f"fetching the image: status {response.status}"
            raise ProbeFailure("invalid_response", msg)
        parts: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            m.last_byte = m.elapsed()
            if size > limit:
                msg = f"the image is larger than max_body_bytes ({limit})"
                raise ProbeFailure("invalid_response", msg)
            parts.append(chunk)
    return b"".join(parts)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
