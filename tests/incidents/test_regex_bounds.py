"""Catastrophic regexes from any reader answer in bounded time on a real daemon.

With a backtracking engine, ``(a+)+$`` against 50,000 ``a``s followed by ``!`` never finishes
and freezes the whole process. Every user regex is RE2 (Go's ``regexp``), linear in the text:
each request below must answer well inside ``BOUND`` while ``/-/healthy`` keeps answering.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from .conftest import iso, start_daemon

LONG = "a" * 50_000
BOUND = 2.0
"""Seconds for a whole request: generous on a loaded machine, yet backtracking on 50,000
characters takes longer than the age of the universe."""
HEALTHY_BOUND = 1.0


class Health:
    """Polls ``/-/healthy`` in the background and keeps the latencies."""

    def __init__(self) -> None:
        self.latencies: list[float] = []


@asynccontextmanager
async def _polling(session: aiohttp.ClientSession, url: str) -> AsyncIterator[Health]:
    health = Health()

    async def poll() -> None:
        while True:
            started = time.perf_counter()
            async with session.get(url + "/-/healthy") as resp:
                assert resp.status == 200
            health.latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(poll())
    try:
        yield health
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await call()
    return result, time.perf_counter() - started


def _long_label_query(regex: str | None) -> str:
    """``count by (bar)`` of a ``label_replace`` over a label of 50,000 ``a``s and ``!``
    (``count by (foo)`` of the label itself when ``regex`` is ``None``).

    The value is built by doubling with ``label_join`` (a 50 kB literal would not fit in a
    URL): labels ``p0`` … ``p15`` hold 2^i ``a``s, and 50,000 = 2^15+2^14+2^9+2^8+2^6+2^4.
    """
    expr = 'label_replace(label_replace(vector(1), "p0", "a", "", ""), "bang", "!", "", "")'
    for i in range(15):
        expr = f'label_join({expr}, "p{i + 1}", "", "p{i}", "p{i}")'
    parts = ", ".join(f'"p{i}"' for i in (15, 14, 9, 8, 6, 4))
    expr = f'label_join({expr}, "foo", "", {parts}, "bang")'
    if regex is None:
        return f"count by (foo) ({expr})"
    return f'count by (bar) (label_replace({expr}, "bar", "yes", "foo", "{regex}"))'


async def test_catastrophic_regexes_answer_in_bounded_time(tmp_path: Path) -> None:
    """A silence, ``matcher=`` and ``label_replace`` with ``(a+)+$`` or ``(.|.|.|.|.|.)*X``
    on a 50,000-character label value each answer within 2 s, with the right result, and
    ``/-/healthy`` answers within 1 s throughout."""
    daemon = await start_daemon(tmp_path)
    timings: dict[str, float] = {}
    try:
        async with aiohttp.ClientSession() as session, _polling(session, daemon.url) as health:

            async def call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
                async with session.request(method, daemon.url + path, **kw) as resp:
                    return resp.status, await resp.json(content_type=None)

            silence = {"matchers": ['foo=~"(a+)+$"'], "endsAt": iso(3600), "createdBy": "t"}
            (status, body), timings["POST silence"] = await _timed(
                lambda: call("POST", "/api/v1/silences", json=silence)
            )
            assert status == 201, body
            alerts = [
                {"labels": {"alertname": "Bang", "foo": LONG + "!"}},
                {"labels": {"alertname": "Plain", "foo": LONG}},
            ]
            (status, body), timings["POST alerts (silence check)"] = await _timed(
                lambda: call("POST", "/api/v2/alerts", json=alerts)
            )
            assert status == 200, body
            status, body = await call("GET", "/api/v1/incidents")
            silenced = {i["labels"]["alertname"]: i["silenced"] for i in body["data"]}
            assert silenced == {"Bang": False, "Plain": True}

            for regex, expected in (("(a+)+$", ["Plain"]), ("(.|.|.|.|.|.)*X", [])):
                params = {"matcher": f'foo=~"{regex}"'}
                (status, body), timings[f"GET incidents {regex}"] = await _timed(
                    lambda params=params: call("GET", "/api/v1/incidents", params=params)
                )
                assert status == 200, body
                assert [i["labels"]["alertname"] for i in body["data"]] == expected

            status, body = await call(
                "GET", "/api/v1/query", params={"query": _long_label_query(None)}
            )
            assert [r["metric"] for r in body["data"]["result"]] == [{"foo": LONG + "!"}]
            for regex, expected in (("(a+)+$", {}), ("(a+)+!", {"bar": "yes"})):
                params = {"query": _long_label_query(regex)}
                (status, body), timings[f"label_replace {regex}"] = await _timed(
                    lambda params=params: call("GET", "/api/v1/query", params=params)
                )
                assert status == 200, body
                assert [r["metric"] for r in body["data"]["result"]] == [expected]
        assert health.latencies
        print({name: f"{seconds * 1000:.1f} ms" for name, seconds in timings.items()})
        print(
            f"/-/healthy: {len(health.latencies)} polls, max {max(health.latencies) * 1000:.1f} ms"
        )
        assert all(seconds < BOUND for seconds in timings.values()), timings
        assert max(health.latencies) < HEALTHY_BOUND
    finally:
        await daemon.stop(kill=False)
