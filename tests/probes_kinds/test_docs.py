"""docs/probes.md documents every probe kind, check, error type and mock behaviour key."""

import dataclasses
import typing
from pathlib import Path

import pytest

from aiwatch.config.model import Expect, TargetKind
from aiwatch.mockai import FAULTS, Behavior
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
    "GET /v1/models",
    "x-mock-behavior",
]


@pytest.mark.parametrize("name", NAMES)
def test_name_is_documented(name: str) -> None:
    """Each user-facing name appears in docs/probes.md as code."""
    assert f"`{name}" in DOC
