"""Run one probe of one target: pick the kind, bound it by the timeout, never raise."""

import time

import aiohttp

from aiwatch.config.model import Target
from aiwatch.probes.result import ProbeResult


def make_session(target: Target) -> aiohttp.ClientSession:
    """A session for one target: kept-alive connections unless ``reuse_connections`` is off."""
    connector = aiohttp.TCPConnector(force_close=not target.reuse_connections)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
    )


async def run_probe(
    target: Target, session: aiohttp.ClientSession, *, prompt_index: int = 0
) -> ProbeResult:
    """Probe ``target`` once through ``session``; bounded by ``target.timeout``."""
    del session, prompt_index  # interface first; the kinds follow in the next commit
    now = time.time()
    return ProbeResult(
        target=target.name,
        success=False,
        error_type="client_error",
        error="probe kinds not implemented yet",
        status_code=None,
        duration=0.0,
        time_to_first_byte=None,
        time_to_first_token=None,
        time_per_output_token=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        ratelimit_remaining_requests=None,
        ratelimit_remaining_tokens=None,
        response_model=None,
        system_fingerprint=None,
        embedding_dimensions=None,
        checks=(),
        started_at=now,
        finished_at=now,
        request_summary="",
        response_excerpt="",
    )
