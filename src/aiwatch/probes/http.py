"""The ``http`` probe: any method, headers and body; the answer is judged by ``expect``."""

import json

import aiohttp

from aiwatch.config.model import Target
from aiwatch.probes.errors import ProbeFailure, classify_status
from aiwatch.probes.exchange import Measurement, Request, headers_for, read_body, send


def http_request(target: Target) -> Request:
    """The configured request; a dict or list body is sent as JSON."""
    body: bytes | None = None
    if isinstance(target.body, dict | list):
        body = json.dumps(target.body, separators=(",", ":")).encode()
    elif target.body is not None:
        body = target.body.encode()
    headers = headers_for(target, json_body=isinstance(target.body, dict | list))
    return Request(target.method, target.url, headers, body)


async def probe_http(
    target: Target, session: aiohttp.ClientSession, m: Measurement, *, prompt_index: int
) -> None:
    """Run one HTTP request into ``m``; raise ``ProbeFailure`` for a known fault."""
    del prompt_index  # one fixed request
    # Redirects are not followed: a secret header must never travel to another host.
    async with await send(session, http_request(target), m) as response:
        body = await read_body(response, m, target.max_body_bytes)
    m.text = body.decode("utf-8", errors="replace")
    # With an explicit ``expect.status`` the status check decides (validation_failed);
    # otherwise a 4xx or 5xx is an error of the endpoint, named by the taxonomy.
    if not target.expect.status and response.status >= 400:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        raise ProbeFailure(*classify_status(response.status, document))
