"""A redirect is never followed and, for every kind, fails the status check as documented."""

import pytest
from aiohttp.test_utils import TestServer

from aiwatch.config import parse_config
from aiwatch.probes import make_session, run_probe
from tests.probes.conftest import mock_url

REDIRECT = '{status: 302, raw_body: "", headers: {Location: "http://127.0.0.1:9/elsewhere"}}'


@pytest.mark.parametrize("kind", ["openai_chat", "openai_embeddings"])
async def test_redirect_fails_validation_for_openai_kinds(mock_ai: TestServer, kind: str) -> None:
    """A 3xx is ``validation_failed`` (not a 4xx ``client_error``), and the status check says so."""
    text = f"""\
targets:
  - name: t
    kind: {kind}
    url: {mock_url(mock_ai)}
    model: m
    request: {{mock: {REDIRECT}}}
"""
    target = parse_config(text, "a.yml", env={}).targets[0]
    async with make_session(target) as session:
        result = await run_probe(target, session)
    assert result.status_code == 302
    assert result.error_type == "validation_failed"
    assert [(c.name, c.ok) for c in result.checks] == [("status", False)]
