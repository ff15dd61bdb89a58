"""Images in prompts: a photo folder sent to every chat kind in that API's own shape."""

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PilImage

from aiwatch.config import load_config
from aiwatch.config.model import Target
from aiwatch.config.prompts import ImagePrompt
from aiwatch.probes.report import describe
from tests.probes_kinds.conftest import API_KEY, Mock

KINDS = ("openai_chat", "openai_responses", "anthropic_messages", "gemini")


def photo_folder(tmp_path: Path) -> tuple[bytes, bytes]:
    """``photos/`` beside the config: a PNG with a sidecar text and a JPEG without."""
    photos = tmp_path / "photos"
    photos.mkdir()
    PilImage.new("RGB", (7, 5), (200, 30, 30)).save(photos / "a-cat.png")
    (photos / "a-cat.txt").write_text("What animal is this?\n")
    PilImage.new("RGB", (9, 4), (30, 30, 200)).save(photos / "b-dog.jpg", quality=80)
    (photos / "README.md").write_text("not an image, not a prompt")
    return (photos / "a-cat.png").read_bytes(), (photos / "b-dog.jpg").read_bytes()


def config_targets(tmp_path: Path, url: str, kinds: tuple[str, ...] = KINDS) -> list[Target]:
    """A config naming the folder as each kind's prompts, loaded as the daemon loads it."""
    lines = ["targets:"]
    for kind in kinds:
        lines += [
            f"  - {{name: {kind}, kind: {kind}, url: {url!r}, model: mock-gpt,",
            f"     api_key: {API_KEY}, prompts: [{{folder: photos, text: Describe it.}}]}}",
        ]
    path = tmp_path / "aiwatch.yml"
    path.write_text("\n".join(lines) + "\n")
    return list(load_config(str(path)).targets)


def expected_turn(kind: str, text: str, media_type: str, data: bytes) -> dict[str, Any]:
    """The one user turn each API documents for a text and an inline image."""
    b64 = base64.b64encode(data).decode()
    url = f"data:{media_type};base64,{b64}"
    if kind == "openai_chat":
        parts: list[Any] = [
            {"type": "text", "text": text},
            {"type": "image_url", "image_url": {"url": url}},
        ]
        return {"role": "user", "content": parts}
    if kind == "openai_responses":
        parts = [{"type": "input_text", "text": text}, {"type": "input_image", "image_url": url}]
        return {"role": "user", "content": parts}
    if kind == "anthropic_messages":
        source = {"type": "base64", "media_type": media_type, "data": b64}
        parts = [{"type": "image", "source": source}, {"type": "text", "text": text}]
        return {"role": "user", "content": parts}
    parts = [{"inlineData": {"mimeType": media_type, "data": b64}}, {"text": text}]
    return {"role": "user", "parts": parts}


def sent_turns(kind: str, body: dict[str, Any]) -> list[Any]:
    key = {"openai_chat": "messages", "anthropic_messages": "messages", "gemini": "contents"}
    return list(body[key.get(kind, "input")])


@pytest.mark.parametrize("stream", [False, True])
async def test_a_photo_folder_reaches_every_kind_in_its_own_shape(
    mock: Mock, tmp_path: Path, stream: bool
) -> None:
    """Each image of the folder is one prompt, in name order, with its sidecar text or the
    folder's text; every kind sends the same photos inline in its API's documented shape,
    and the probes succeed."""
    cat, dog = photo_folder(tmp_path)
    targets = config_targets(tmp_path, mock.url)
    for target in targets:
        assert len(target.prompts) == 2
        for index in (0, 1):
            probed = dataclasses.replace(target, stream=stream)
            result = await mock.probe(probed, prompt_index=index)
            assert result.success, result.error
    received = await mock.control("GET", "/_mock/requests")
    assert len(received) == 2 * len(KINDS)
    for i, kind in enumerate(KINDS):
        first, second = received[2 * i]["body"], received[2 * i + 1]["body"]
        assert sent_turns(kind, first) == [
            expected_turn(kind, "What animal is this?", "image/png", cat)
        ]
        assert sent_turns(kind, second) == [expected_turn(kind, "Describe it.", "image/jpeg", dog)]


async def test_images_are_read_once_at_load_not_per_probe(mock: Mock, tmp_path: Path) -> None:
    """Two targets naming the same file share one read of it, and a probe sends what was read
    at load even after the file is gone."""
    photo_folder(tmp_path)
    chat, responses = config_targets(tmp_path, mock.url, ("openai_chat", "openai_responses"))
    first, other = chat.prompts[0], responses.prompts[0]
    assert isinstance(first, ImagePrompt)
    assert isinstance(other, ImagePrompt)
    assert first.images[0] is other.images[0]
    assert (first.images[0].media_type, first.images[0].width, first.images[0].height) == (
        "image/png",
        7,
        5,
    )
    for path in (tmp_path / "photos").iterdir():
        path.unlink()
    assert (await mock.probe(chat)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["body"]["messages"][0]["content"][1]["image_url"]["url"] == first.images[0].data_url


async def test_listed_images_and_text_in_one_turn(mock: Mock, tmp_path: Path) -> None:
    """``{text, images}`` sends every listed image, in order, with the text, in one turn."""
    PilImage.new("RGB", (3, 3)).save(tmp_path / "one.webp")
    PilImage.new("RGB", (2, 2)).save(tmp_path / "two.png")
    (tmp_path / "aiwatch.yml").write_text(
        "targets:\n"
        f"  - {{name: g, kind: gemini, url: {mock.url!r}, model: mock-gpt, api_key: {API_KEY},\n"
        "     prompts: [{text: Compare these, images: [one.webp, two.png]}]}\n"
    )
    (target,) = load_config(str(tmp_path / "aiwatch.yml")).targets
    assert (await mock.probe(target)).success
    (sent,) = await mock.control("GET", "/_mock/requests")
    parts = sent["body"]["contents"][0]["parts"]
    assert [p.get("inlineData", {}).get("mimeType") for p in parts] == [
        "image/webp",
        "image/png",
        None,
    ]
    assert parts[2] == {"text": "Compare these"}
    assert base64.b64decode(parts[0]["inlineData"]["data"]) == (tmp_path / "one.webp").read_bytes()


def test_the_targets_api_names_images_without_their_bytes(tmp_path: Path) -> None:
    """A target's effective config (``GET /api/v1/targets``) names each image, its type and
    size, and carries none of its bytes: it stays small JSON."""
    cat, _ = photo_folder(tmp_path)
    (target,) = config_targets(tmp_path, "http://127.0.0.1:1/v1", ("gemini",))
    described = describe(target)
    assert described["prompts"][0] == {
        "text": "What animal is this?",
        "images": [
            {"name": "photos/a-cat.png", "media_type": "image/png", "width": 7, "height": 5}
        ],
    }
    text = json.dumps(described)
    assert base64.b64encode(cat).decode()[:40] not in text
