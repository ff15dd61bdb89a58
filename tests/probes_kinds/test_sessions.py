"""Connections: kept alive per target by default, new for every probe when asked."""

import asyncio

from aiwatch.probes import make_session, run_probe
from tests.probes_kinds.conftest import Mock


async def client_ports(mock: Mock, *, reuse: bool, stream: bool) -> list[int]:
    """The client ports of three probes through one session built for the target."""
    target = mock.target(reuse_connections=reuse, stream=stream)
    async with make_session(target) as session:
        for index in range(3):
            result = await run_probe(target, session, prompt_index=index)
            assert result.success, result.error
    return [r["client_port"] for r in await mock.control("GET", "/_mock/requests")]


async def test_connections_are_reused_by_default(mock: Mock) -> None:
    """Three probes, streamed or not, share one kept-alive connection."""
    assert len(set(await client_ports(mock, reuse=True, stream=False))) == 1
    await mock.control("POST", "/_mock/reset")
    assert len(set(await client_ports(mock, reuse=True, stream=True))) == 1


async def test_reuse_connections_false_opens_a_new_connection_each_time(mock: Mock) -> None:
    """With reuse_connections: false every probe comes from a new client port."""
    assert len(set(await client_ports(mock, reuse=False, stream=False))) == 3


async def test_a_connection_idle_for_a_late_fifteen_second_interval_is_reused(mock: Mock) -> None:
    """A 15 s target whose next probe starts a little late (15.5 s after the previous one
    ended) still gets its kept-alive connection, rather than a new one for a connect that the
    probes on time do not measure."""
    target = mock.target(reuse_connections=True, stream=False)
    async with make_session(target) as session:
        first = await run_probe(target, session)
        await asyncio.sleep(15.5)
        second = await run_probe(target, session)
    assert first.success, first.error
    assert second.success, second.error
    ports = [r["client_port"] for r in await mock.control("GET", "/_mock/requests")]
    assert len(ports) == 2
    assert len(set(ports)) == 1
