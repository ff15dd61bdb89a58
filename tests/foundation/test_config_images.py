"""Image files in prompts: read from their headers, checked at load, reported at their place."""

from pathlib import Path

import pytest
from PIL import Image as PilImage

from aiwatch.config import load_config
from aiwatch.config.imagefile import NotAnImage, image_info
from aiwatch.config.images import MAX_IMAGE_BYTES
from aiwatch.config.prompts import ImagePrompt
from tests.cli import aiwatch

ENCODINGS = [
    ("PNG", {}, "RGB", "image/png"),
    ("JPEG", {"quality": 85}, "RGB", "image/jpeg"),
    ("JPEG", {"progressive": True}, "L", "image/jpeg"),
    ("WEBP", {"quality": 80}, "RGB", "image/webp"),  # VP8, lossy
    ("WEBP", {"lossless": True}, "RGB", "image/webp"),  # VP8L
    ("WEBP", {"quality": 80}, "RGBA", "image/webp"),  # VP8X, with alpha
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("size", [(1, 1), (13, 7), (300, 2049)])
def test_the_header_reader_agrees_with_a_real_encoder(
    tmp_path: Path, encoding: tuple[str, dict[str, object], str, str], size: tuple[int, int]
) -> None:
    """Files written by a real encoder, of odd sizes, read back as their format and size."""
    fmt, options, mode, media_type = encoding
    path = tmp_path / f"image.{fmt.lower()}"
    PilImage.new(mode, size).save(path, fmt, **options)
    info = image_info(path.read_bytes())
    assert (info.media_type, info.width, info.height) == (media_type, *size)


@pytest.mark.parametrize(
    "data",
    [b"GIF89a\x01\x00\x01\x00", b"hello", b"\x89PNG\r\n\x1a\n\x00", b"\xff\xd8\xff\xda\x00\x02"],
)
def test_other_and_truncated_files_are_not_images(data: bytes) -> None:
    """GIF, text, and PNG or JPEG files cut before their size are refused."""
    with pytest.raises(NotAnImage):
        image_info(data)


CONFIG = """\
targets:
  - name: chat
    kind: openai_chat
    url: http://127.0.0.1:9532/v1
    model: m
    prompts:
      - text: Describe this photo
        images: [photos/cat.png, photos/missing.jpg, notes.txt, big.png]
      - folder: nowhere
      - folder: empty
validation:
  gates: [{target: chat, prompts: set}]
  prompt_sets:
    set: [{text: again, images: [photos/missing.jpg]}]
"""


def test_check_config_names_each_bad_image_at_its_place(tmp_path: Path) -> None:
    """Missing, unsupported and oversized images, a missing folder and a folder without
    images are each one problem at the position of the name in the file; a good image
    beside them is not."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "empty").mkdir()
    PilImage.new("RGB", (4, 4)).save(tmp_path / "photos" / "cat.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    with open(tmp_path / "big.png", "wb") as fh:
        fh.truncate(MAX_IMAGE_BYTES + 1)
    config = tmp_path / "aiwatch.yml"
    config.write_text(CONFIG)
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    where = f"{config}:"
    assert lines[1:] == [
        f"{where}8:34: targets[0].prompts[0].images[1]: cannot read image "
        "'photos/missing.jpg': No such file or directory",
        f"{where}8:54: targets[0].prompts[0].images[2]: image 'notes.txt' is not a PNG, "
        "JPEG or WebP image (PNG, JPEG and WebP are supported)",
        f"{where}8:65: targets[0].prompts[0].images[3]: image 'big.png' is 5.0 MiB; "
        "an image may be at most 5 MiB",
        f"{where}9:17: targets[0].prompts[1].folder: cannot read prompt folder 'nowhere': "
        "No such file or directory",
        f"{where}10:17: targets[0].prompts[2].folder: prompt folder 'empty' has no images "
        "(.png, .jpg, .jpeg, .webp)",
        f"{where}14:34: validation.prompt_sets.set[0].images[0]: cannot read image "
        "'photos/missing.jpg': No such file or directory",
    ]


def test_an_unreadable_image_is_reported(tmp_path: Path) -> None:
    """A name that cannot be read as a file is a config problem, not a failing probe later."""
    (tmp_path / "photo.png").mkdir()
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "targets:\n  - {name: c, kind: gemini, url: 'http://127.0.0.1:1/v1', model: m,\n"
        "     prompts: [{text: hi, images: [photo.png]}]}\n"
    )
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        f"{config}:3:36: targets[0].prompts[0].images[0]: cannot read image 'photo.png': "
        "Is a directory"
    ]


def test_image_generation_keys_belong_to_openai_images(tmp_path: Path) -> None:
    """``expect.image`` and ``price.per_image`` elsewhere, and a conversation or an image
    prompt for ``openai_images``, are config problems at their place."""
    PilImage.new("RGB", (4, 4)).save(tmp_path / "cat.png")
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "targets:\n"
        "  - name: chat\n"
        "    kind: openai_chat\n"
        "    url: http://127.0.0.1:1/v1\n"
        "    model: m\n"
        "    expect: {image: {width: 8, height: 8}}\n"
        "    price: {per_image: 0.04}\n"
        "  - name: draw\n"
        "    kind: openai_images\n"
        "    url: http://127.0.0.1:1/v1\n"
        "    model: gpt-image-1\n"
        "    prompts:\n"
        "      - a red fox\n"
        "      - [{role: user, content: a fox}]\n"
        "      - {text: like this, images: [cat.png]}\n"
    )
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        f"{config}:6:21: targets[0].expect.image: only for kind openai_images",
        f"{config}:7:24: targets[0].price.per_image: only for kind openai_images",
        f"{config}:14:9: targets[1].prompts[1]: openai_images takes text prompts only",
        f"{config}:15:9: targets[1].prompts[2]: openai_images takes text prompts only",
    ]


def test_an_image_budget_warns_about_its_worst_case(tmp_path: Path) -> None:
    """A day of probes × n images × per_image over cost_per_day is a warning, not an error."""
    config = tmp_path / "aiwatch.yml"
    config.write_text(
        "targets:\n"
        "  - {name: draw, kind: openai_images, url: 'http://127.0.0.1:1/v1', model: m,\n"
        "     interval: 10m, request: {n: 2}, price: {per_image: 0.04},\n"
        "     budget: {cost_per_day: 10}}\n"
    )
    result = aiwatch("check", "config", str(config))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stdout
    assert (
        "worst case a day (144 probes × n 2 × per_image): 11.52 USD > cost_per_day 10"
        in (warnings[0])
    )


def test_a_validation_prompt_set_may_be_a_photo_folder(tmp_path: Path) -> None:
    """``validation.prompt_sets`` take folders and image prompts as targets' prompts do: one
    prompt per image, in name order, the sidecar's text first."""
    (tmp_path / "set").mkdir()
    PilImage.new("RGB", (3, 2)).save(tmp_path / "set" / "b.webp")
    PilImage.new("RGB", (2, 3)).save(tmp_path / "set" / "a.png")
    (tmp_path / "set" / "b.txt").write_text("Is it blue?")
    config = tmp_path / "suite.yml"
    config.write_text(
        "targets:\n"
        "  - {name: c, kind: openai_chat, url: 'http://127.0.0.1:1/v1', model: m}\n"
        "validation:\n"
        "  gates: [{target: c, prompts: photos}]\n"
        "  prompt_sets:\n"
        "    photos: [{folder: set, text: 'What is it?'}, plain text]\n"
    )
    loaded = load_config(str(config))
    assert loaded.validation is not None
    prompts = loaded.validation.prompt_sets["photos"]
    assert [
        (p.text, [(i.name, i.media_type, i.width, i.height) for i in p.images])
        if isinstance(p, ImagePrompt)
        else p
        for p in prompts
    ] == [
        ("What is it?", [("set/a.png", "image/png", 2, 3)]),
        ("Is it blue?", [("set/b.webp", "image/webp", 3, 2)]),
        "plain text",
    ]
