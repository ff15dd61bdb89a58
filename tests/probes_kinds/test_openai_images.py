"""The ``openai_images`` kind against mock-ai: the request, the image checked, cost, faults."""

import asyncio
import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestServer
from PIL import Image as PilImage

from aiwatch.app.build import make_app
from aiwatch.config import load_config
from aiwatch.config.model import Price
from aiwatch.mockai import make_mock_app
from aiwatch.mockai.images import png
from aiwatch.probes import ProbeResult
from aiwatch.probes import web as probes_web
from aiwatch.runtime import ConfigState, Options
from tests.probes_kinds.conftest import API_KEY, Mock
from tests.probes_kinds.test_probe_metrics import probe_metrics


async def probe(mock: Mock, behavior: dict[str, Any] | None = None, **fields: Any) -> ProbeResult:
    """One probe of an ``openai_images`` target at the mock, the mock told ``behavior``."""
    request = {"mock": behavior or {}, **fields.pop("request", {})}
    fields.setdefault("expect", {"image": (64, 48)})
    return await mock.probe(mock.target(kind="openai_images", request=request, **fields))


async def test_a_base64_image_of_the_asked_size_passes(mock: Mock) -> None:
    """The probe asks for the expected size, the PNG's header says that size, and the cost
    is one image at ``per_image`` plus the tokens of the answer's usage."""
    price = Price(input_per_million=5.0, output_per_million=40.0, per_image=0.04)
    result = await probe(
        mock, {"latency": 0.2, "input_tokens": 10, "output_tokens": 200}, price=price
    )
    assert result.success, result.error
    assert (result.images, result.image) == (1, "image/png 64x48")
    assert ("image", True, "image 64x48 vs expected 64x48") in [
        (c.name, c.ok, c.detail) for c in result.checks
    ]
    assert result.cost_usd == pytest.approx(0.04 + (10 * 5 + 200 * 40) / 1e6)
    assert (result.input_tokens, result.output_tokens) == (10, 200)
    assert result.duration >= 0.2
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["path"] == "/v1/images/generations"
    assert sent["authorization"] == f"Bearer {API_KEY}"
    assert sent["body"] == {
        "model": "mock-gpt",
        "prompt": "Reply with the single word: pong",
        "n": 1,
        "size": "64x48",
    }


async def test_a_url_image_is_fetched_and_measured(mock: Mock) -> None:
    """With ``response_format: url`` the probe fetches the image through its session (no
    API key sent along) and checks it the same way; n images cost n × per_image."""
    result = await probe(
        mock,
        request={"response_format": "url", "n": 3},
        price=Price(per_image=0.02),
        expect={"image": (40, 30)},
    )
    assert result.success, result.error
    assert (result.images, result.image) == (3, "image/png 40x30")
    assert result.cost_usd == pytest.approx(0.06)


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
async def test_an_image_of_another_size_fails_the_image_check(
    mock: Mock, response_format: str
) -> None:
    """The mock draws 32x32 whatever was asked: the image check fails the probe."""
    result = await probe(
        mock, {"image_size": "32x32"}, request={"response_format": response_format}
    )
    assert result.error_type == "validation_failed"
    assert result.error == "image: image 32x32 vs expected 64x48"


@pytest.mark.parametrize("response_format", ["b64_json", "url"])
async def test_bytes_that_are_no_image_are_an_invalid_response(
    mock: Mock, response_format: str
) -> None:
    """An answer whose image does not decode as PNG, JPEG or WebP is invalid_response."""
    result = await probe(
        mock, {"image_invalid": True}, request={"response_format": response_format}
    )
    assert result.error_type == "invalid_response"
    assert result.error == "the image is not a PNG, JPEG or WebP image"


async def test_a_url_image_larger_than_max_body_bytes_is_refused(mock: Mock) -> None:
    """The fetched image is bounded by max_body_bytes like any answer."""
    result = await probe(
        mock,
        {"image_size": "2048x2048"},
        request={"response_format": "url"},
        max_body_bytes=4096,
    )
    assert result.error_type == "invalid_response"
    assert result.error == "the image is larger than max_body_bytes (4096)"


@pytest.mark.parametrize(
    ("behavior", "status", "error_type"),
    [
        ({"fault": "rate_limited"}, 429, "rate_limited"),
        ({"fault": "quota_exceeded"}, 429, "quota_exceeded"),
        ({"fault": "content_filter"}, 400, "content_filter"),
        ({"fault": "server_error"}, 500, "server_error"),
        ({"fault": "overloaded"}, 503, "server_error"),
        ({"fault": "invalid_api_key"}, 401, "client_error"),
        ({"status": 404}, 404, "client_error"),
        ({"raw_body": '{"data": [{"b64_json": '}, 200, "invalid_response"),
        ({"raw_body": '{"data": []}'}, 200, "invalid_response"),
        ({"raw_body": '{"data": [{"b64_json": "***"}]}'}, 200, "invalid_response"),
        ({"endless_body": True}, 200, "invalid_response"),
        ({"latency": 5}, None, "timeout"),
    ],
)
async def test_faults_get_their_error_type(
    mock: Mock, behavior: dict[str, Any], status: int | None, error_type: str
) -> None:
    """Each fault of the chat tests that an image endpoint can show maps to its cause; the
    safety system's refusal (content_policy_violation) is content_filter."""
    result = await probe(mock, behavior, timeout=1.0, max_body_bytes=1 << 20)
    assert (result.status_code, result.error_type) == (status, error_type), result.error


async def test_moderation_blocked_is_a_content_filter(mock: Mock) -> None:
    """gpt-image-1's refusal code, moderation_blocked, is content_filter too."""
    error = {"code": "moderation_blocked", "message": "Your request was rejected."}
    result = await probe(mock, {"status": 400, "error": error})
    assert result.error_type == "content_filter"


@pytest.fixture
async def daemon(aiohttp_server: Callable[..., Any], tmp_path: Path) -> str:
    """The daemon's probes component over two image targets: one passing, one refused."""
    mock: TestServer = await aiohttp_server(make_mock_app(seed=3), host="127.0.0.1", port=0)
    cases = {"images-ok": {"latency": 0.05}, "images-refused": {"fault": "content_filter"}}
    targets = [
        {
            "name": name,
            "kind": "openai_images",
            "url": f"http://127.0.0.1:{mock.port}/v1",
            "model": "gpt-image-1",
            "interval": "1h",
            "timeout": "2s",
            "prompts": ["A lighthouse at dusk, watercolour"],
            "expect": {"image": {"width": 256, "height": 256}},
            "price": {"per_image": 0.011},
            "budget": {"cost_per_day": 5},
            "request": {"quality": "low", "mock": behavior},
        }
        for name, behavior in cases.items()
    ]
    path = tmp_path / "aiwatch.yml"
    path.write_text(yaml.safe_dump({"targets": targets}))
    config = load_config(str(path))
    app = make_app(
        ConfigState(config, Options(config_file=str(path))), components=(probes_web.setup,)
    )
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    return f"http://127.0.0.1:{server.port}"


async def test_image_probes_in_metrics_debug_output_and_promtool(daemon: str) -> None:
    """/probe exposes success, cost and the error type of an image target; the debug output
    names the image; promtool check metrics finds no problem in the exposition."""
    ok = await probe_metrics(daemon, "images-ok")
    assert ok["aiwatch_probe_success{}"] == 1.0
    assert ok["aiwatch_probe_cost_usd_total{}"] == pytest.approx(0.011)
    refused = await probe_metrics(daemon, "images-refused")
    assert refused["aiwatch_probe_success{}"] == 0.0
    assert refused["aiwatch_probe_errors_total{error_type=content_filter}"] == 1.0
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{daemon}/probe?target=images-ok&debug=true") as r:
            debug = await r.text()
        async with http.get(f"{daemon}/metrics") as r:
            text = await r.text()
    assert "images: 1, the first: image/png 256x256" in debug
    assert "[ok] image: image 256x256 vs expected 256x256" in debug
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed")
    checked = await asyncio.to_thread(
        subprocess.run,
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == ""
    assert 'kind="openai_images"' in text


def test_the_mock_png_is_a_real_png() -> None:
    """mock-ai's PNG decodes, pixels and all, with a real decoder, at its size."""
    with PilImage.open(io.BytesIO(png(33, 17))) as image:
        image.load()
        assert (image.format, image.size, image.mode) == ("PNG", (33, 17), "RGB")
        assert image.getpixel((32, 16)) == (0x40, 0x80, 0xC0)
