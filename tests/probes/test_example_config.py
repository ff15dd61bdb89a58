"""The shipped example config, pointed at ``aiwatch mock-ai`` as its comments say, is all green."""

import dataclasses
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config import load_config
from aiwatch.probes import make_session, run_probe
from tests.probes.conftest import mock_url

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "aiwatch.yml"
SHIPPED_MOCK = "http://127.0.0.1:9532/v1"


@pytest.mark.parametrize("prompt_index", [0, 1])
async def test_every_example_target_passes_against_the_mock(
    mock_ai: TestServer, prompt_index: int
) -> None:
    """A new user running the README's two lines sees every target up, each prompt included."""
    config = load_config(str(EXAMPLE))
    assert config.targets
    for shipped in config.targets:
        assert shipped.url.startswith(SHIPPED_MOCK), shipped.url
        target = dataclasses.replace(
            shipped, url=shipped.url.replace(SHIPPED_MOCK, mock_url(mock_ai))
        )
        async with make_session(target) as session:
            result = await run_probe(target, session, prompt_index=prompt_index)
        assert result.success, (target.name, result.error_type, result.error)
