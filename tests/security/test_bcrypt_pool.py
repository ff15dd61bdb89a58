"""bcrypt has its own bounded threads: a flood of wrong passwords delays neither DNS look-ups
(the loop's default executor, which probes resolve host names in) nor a returning user."""

import asyncio
import time

import bcrypt

from aiwatch.web.auth import MAX_WAITING_CHECKS, Checker
from aiwatch.web.envelope import ApiError
from aiwatch.web.tls import WebConfig


async def _timed(coro: object) -> float:
    started = time.monotonic()
    await coro  # type: ignore[misc]
    return time.monotonic() - started


async def test_wrong_password_flood_starves_neither_dns_nor_a_returning_user() -> None:
    """200 concurrent wrong passwords (bcrypt cost 10): ``localhost`` resolves at once, a user
    whose password was right before is checked in about the time of one check, and checks
    beyond the bound are a 503 rather than a longer queue."""
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(rounds=10)).decode()
    checker = Checker(WebConfig(users={"alice": hashed}), cache_seconds=0.0)
    single = await _timed(checker.verify("alice", b"right"))
    loop = asyncio.get_running_loop()
    flood = [
        asyncio.ensure_future(checker.verify("alice", f"wrong-{i}".encode())) for i in range(200)
    ]
    await asyncio.sleep(0.05)
    dns = await _timed(loop.getaddrinfo("localhost", 80))
    login_started = time.monotonic()
    assert await checker.verify("alice", b"right")
    login = time.monotonic() - login_started
    results = await asyncio.gather(*flood, return_exceptions=True)
    assert dns < 0.5, dns
    # Queued behind the flood it would wait for 64 checks on a few threads.
    assert login < 4 * single + 0.1, (login, single)
    refused = [r for r in results if isinstance(r, ApiError)]
    assert [r.status for r in refused] == [503] * (200 - MAX_WAITING_CHECKS)
    assert [r for r in results if not isinstance(r, ApiError)] == [False] * MAX_WAITING_CHECKS
