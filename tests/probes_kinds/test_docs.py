"""docs/probes.md documents every probe kind, check, error type and mock behaviour key."""

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from aiwatch.config import load_config
from aiwatch.config.model import Expect, TargetKind
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
    """Every target example in the docs passes config validation (env vars set)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-example")
    monkeypatch.setenv("GATEWAY_KEY", "example")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "example")
    monkeypatch.setenv("GEMINI_API_KEY", "example")
    examples = [b for b in yaml_blocks() if b.startswith("- name:")]
    assert len(examples) == 7
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
        "openai_embeddings",
        "http",
        "openai_chat",
    ]
    assert config.targets[6].stall_timeout == 5.0
    assert config.targets[6].expect.streaming


def test_mock_script_example_loads(tmp_path: Path) -> None:
    """The mock-ai script example in the docs is a valid script."""
    (example,) = [b for b in yaml_blocks() if b.startswith("seed:")]
    path = tmp_path / "mock.yml"
    path.write_text(example)
    assert set(load_script(str(path))["models"]) == {"mock-fast", "mock-slow"}
