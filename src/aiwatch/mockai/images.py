"""The mock's OpenAI image generation: ``POST /v1/images/generations`` draws a real PNG."""

import base64
import functools
import re
import struct
import time
import zlib
from typing import Any

from aiohttp import web

from aiwatch.mockai.behavior import Behavior, error_answer
from aiwatch.mockai.exchange import Clock, bearer_key, headers
from aiwatch.mockai.replies import count_words

DEFAULT_SIZE = (1024, 1024)
MAX_SIDE = 2048
"""The largest side the mock draws (larger sizes are drawn at this)."""
MAX_IMAGES = 10
_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
NOT_AN_IMAGE = b"this is not an image\n"
_POLICY = {
    "type": "invalid_request_error",
    "code": "content_policy_violation",
    "param": None,
    "message": "Your request was rejected as a result of our safety system.",
}


@functools.lru_cache(maxsize=16)
def png(width: int, height: int) -> bytes:
    """A real PNG of one colour, ``width`` by ``height`` pixels (8-bit RGB)."""
    row = b"\x00" + b"\x40\x80\xc0" * width  # filter type 0, then the pixels
    pixels = zlib.compress(row * height, 6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def drawn_size(b: Behavior, body: dict[str, Any]) -> tuple[int, int]:
    """The size the mock draws: ``image_size`` of the behaviour, else the requested ``size``
    (``auto`` or none: 1024x1024), each side at most ``MAX_SIDE``."""
    wanted = b.image_size or body.get("size")
    match = _SIZE.fullmatch(wanted) if isinstance(wanted, str) else None
    width, height = (int(match[1]), int(match[2])) if match else DEFAULT_SIZE
    return max(1, min(width, MAX_SIDE)), max(1, min(height, MAX_SIDE))


class Images:
    """``POST /v1/images/generations`` (see ``exchange.Api``)."""

    kind = "images"

    def key(self, request: web.Request) -> str | None:
        """A bearer token."""
        return bearer_key(request)

    def model(self, request: web.Request, body: dict[str, Any]) -> str:
        """The body's ``model``."""
        return str(body.get("model", ""))

    def headers(self, b: Behavior) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*`` headers."""
        return headers(b)

    def error(self, b: Behavior) -> tuple[int, dict[str, Any]]:
        """An OpenAI-shaped error answer; a content filter is the safety system's 400."""
        if b.fault == "content_filter":
            return (b.status if b.status != 200 else 400), {"error": {**_POLICY, **(b.error or {})}}
        return error_answer(b)

    def streams(self, request: web.Request, body: dict[str, Any]) -> bool:
        """Never: an image comes whole."""
        return False

    def reply(self, b: Behavior, request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        """``n`` images as base64, or as URLs of the mock with ``response_format: url``."""
        width, height = drawn_size(b, body)
        n = body.get("n", 1)
        count = max(1, min(n if isinstance(n, int) else 1, MAX_IMAGES))
        if body.get("response_format") == "url":
            name = "invalid" if b.image_invalid else f"{width}x{height}"
            url = f"{request.url.origin()}/_mock/images/{name}.png"
            image: dict[str, Any] = {"url": url}
        else:
            data = NOT_AN_IMAGE if b.image_invalid else png(width, height)
            image = {"b64_json": base64.b64encode(data).decode("ascii")}
        prompt = body.get("prompt")
        image["revised_prompt"] = b.reply if b.reply is not None else str(prompt or "")
        answer: dict[str, Any] = {"created": int(time.time()), "data": [image] * count}
        if not b.omit_usage:
            inputs = b.input_tokens if b.input_tokens is not None else count_words(prompt)
            outputs = b.output_tokens if b.output_tokens is not None else 1
            answer["usage"] = {
                "input_tokens": inputs,
                "input_tokens_details": {"image_tokens": 0, "text_tokens": inputs},
                "output_tokens": outputs,
                "total_tokens": inputs + outputs,
            }
        return answer

    async def stream(
        self, request: web.Request, body: dict[str, Any], b: Behavior, clock: Clock
    ) -> web.StreamResponse:
        """Not offered: ``streams`` is always False."""
        raise web.HTTPBadRequest(text="image generations are not streamed by the mock")


async def image_file(request: web.Request) -> web.Response:
    """``GET /_mock/images/{W}x{H}.png``: the PNG an answer's ``url`` names."""
    name = request.match_info["name"]
    match = _SIZE.fullmatch(name.removesuffix(".png"))
    if match is None:
        return web.Response(body=NOT_AN_IMAGE, content_type="image/png")
    width, height = min(int(match[1]), MAX_SIDE), min(int(match[2]), MAX_SIDE)
    return web.Response(body=png(max(width, 1), max(height, 1)), content_type="image/png")
