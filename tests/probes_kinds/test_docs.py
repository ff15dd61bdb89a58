"""docs/probes.md documents every probe kind, check, error type and mock behaviour key."""

import dataclasses
import re
import typing
from pathlib import Path

import pytest
from PIL import Image as PilImage

from aiwatch.config import load_config
from aiwatch.config.model import Expect, Price, TargetKind
from aiwatch.config.prompts import ImagePrompt
from aiwatch.mockai import FAULTS, Behavior
from aiwatch.mockai.serve import load_script
from aiwatch.probes import ERROR_TYPES

DOC = (Path(__file__).parents[2] / "docs" / "probes.md").read_text(encoding="utf-8")

NAMES = [
    *typing.get_args(TargetKind),
    *(f.name for f in dataclasses.fields(Expect)),
    *ERROR_TYPES,
    *(f.name for f in dataclasses.fields(Behavior)),
    *FAULTS,
    "GET /_mock/behavior",
    "POST /_mock/behavior",
    "DELETE /_mock/behavior",
    "GET /_mock/stats",
    "GET /_mock/requests",
    "POST /_mock/reset",
    "POST /v1/chat/completions",
    "POST /v1/embeddings",
    "POST /v1/messages",
    "POST /v1/responses",
    "POST /v1/images/generations",
    "GET /_mock/images/{W}x{H}.png",
    "POST /v1beta/models/{model}:generateContent",
    "GET /v1/models",
    "x-mock-behavior",
]


@pytest.mark.parametrize("name", NAMES)
def test_name_is_documented(name: str) -> None:
    """Each user-facing name appears in docs/probes.md as code."""
    assert f"`{name}" in DOC


def yaml_blocks() -> list[str]:
    """The YAML examples of docs/probes.md."""
    return re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_target_examples_are_valid_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every target example in the docs passes config validation (env vars set, and the
    photos the image example names written beside the config)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-example")
    monkeypatch.setenv("GATEWAY_KEY", "example")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "example")
    monkeypatch.setenv("GEMINI_API_KEY", "example")
    (tmp_path / "photos").mkdir()
    PilImage.new("RGB", (8, 6)).save(tmp_path / "photos" / "cat.jpg")
    PilImage.new("RGB", (6, 8)).save(tmp_path / "photos" / "dog.png")
    examples = [b for b in yaml_blocks() if b.startswith("- name:")]
    assert len(examples) == 9
    text = "targets:\n" + "".join(f"  {line}\n" for b in examples for line in b.splitlines())
    path = tmp_path / "aiwatch.yml"
    path.write_text(text)
    config = load_config(str(path))
    kinds = [t.kind for t in config.targets]
    assert kinds == [
        "openai_chat",
        "anthropic_messages",
        "openai_responses",
        "gemini",
        "openai_images",
        "openai_chat",
        "anthropic_messages",
        "openai_embeddings",
        "http",
        "openai_chat",
    ]
    images = config.targets[4]
    assert (images.expect.image, images.price) == ((1024, 1024), Price(0, 0, 0.011))
    vision_gpt, vision_claude = config.targets[5:7]
    assert [len(p.images) for p in vision_gpt.prompts if isinstance(p, ImagePrompt)] == [1, 2]
    assert [p.images[0].name for p in vision_claude.prompts if isinstance(p, ImagePrompt)] == [
        "photos/cat.jpg",
        "photos/dog.png",
    ]
    assert config.targets[9].stall_timeout == 5.0
    assert config.targets[9].expect.streaming


def test_mock_script_example_loads(tmp_path: Path) -> None:
    """The mock-ai script example in the docs is a valid script."""
    (example,) = [b for b in yaml_blocks() if b.startswith("seed:")]
    path = tmp_path / "mock.yml"
    path.write_text(example)
    assert set(load_script(str(path))["models"]) == {"mock-fast", "mock-slow"}
