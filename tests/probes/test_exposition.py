"""The /metrics text of probes: rendered as it is written, each family whole, the loop free."""

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from aiwatch.app.keys import REGISTRY, RENDERERS
from aiwatch.probes.exposition import pieces, render
from aiwatch.probes.series import ProbeSeries
from aiwatch.web.app import add_routes
from tests.probes.test_series import result, target

_TYPE = re.compile(rb"# TYPE (\S+) ")


def families(page: bytes) -> list[bytes]:
    """The family of each TYPE line in page order; asserts that every sample line sits
    under its own family's header (a family split in two would fail here)."""
    seen: list[bytes] = []
    for line in page.splitlines():
        if match := _TYPE.match(line):
            seen.append(match.group(1))
        elif not line.startswith(b"#"):
            name = line.split(b"{", 1)[0].split(b" ", 1)[0]
            assert seen, line
            assert name == seen[-1] or name.rsplit(b"_", 1)[0] == seen[-1], (line, seen[-1])
    return seen


def test_the_page_follows_updates_additions_and_removals() -> None:
    """After every kind of change the page lists each family once, under its header, with
    the current targets' samples only."""
    store = ProbeSeries()
    for name in ("a", "b", "c"):
        store.ensure(target(name))
    store.observe(result(target="a", duration=0.3))
    store.targets["b"].skip()
    store.remove("c")
    store.ensure(target("d", labels={"team": "x"}))
    store.ensure(target("a", labels={"team": "y"}))  # new labels: a new series object
    page = render(store)
    assert page == b"".join(pieces(store))
    names = families(page)
    assert len(names) == len(set(names))
    assert b'target="c"' not in page
    assert b'target="a",kind="openai_chat",feature="",model="gpt-4o-mini",team="y"' in page
    assert b'aiwatch_probes_skipped_total{target="b",' in page
    assert page.endswith(b'aiwatch_label_values_overflow_total{label="error_type",'
                         b'metric="aiwatch_probe_errors_total"} 0\n')  # fmt: skip


def test_a_result_during_a_scrape_shows_in_the_families_not_yet_written() -> None:
    """Pieces are rendered as they are asked for: a probe result that arrives half-way
    through a page shows in the families after that point, and the page stays whole."""
    store = ProbeSeries()
    for name in ("a", "b"):
        store.ensure(target(name))
        store.observe(result(target=name))
    lazy = pieces(store)
    first = [next(lazy), next(lazy), next(lazy)]  # aiwatch_probe_success: header, a, b
    assert first[0].startswith(b"# HELP aiwatch_probe_success ")
    store.observe(result(target="a", success=False, error_type="timeout"))
    page = b"".join([*first, *lazy])
    assert b'aiwatch_probe_success{target="a",' in first[1]
    assert first[1].endswith(b" 1.0\n")  # written before the failure
    labels = b'target="a",kind="openai_chat",feature="",model="gpt-4o-mini"'
    assert b"aiwatch_probes_total{" + labels + b',result="failure"} 1\n' in page
    names = families(page)
    assert len(names) == len(set(names))


async def test_a_large_scrape_lets_the_loop_run_and_sends_the_same_bytes(
    aiohttp_server: Callable[..., Any],
) -> None:
    """GET /metrics of 300 probed targets (about 3.6 MB) is the rendered page byte for byte,
    and its pieces are rendered as the page is written, with other tasks running in between:
    no scrape renders or holds the event loop for the whole page at once."""
    store = ProbeSeries()
    for i in range(300):
        store.ensure(target(f"t{i:03d}"))
        store.observe(result(target=f"t{i:03d}"))
    turns = 0
    turn_at_piece: list[int] = []

    def watched() -> Iterator[bytes]:
        for piece in pieces(store):
            turn_at_piece.append(turns)
            yield piece

    app = web.Application()
    app[REGISTRY] = CollectorRegistry()
    app[RENDERERS] = [watched]
    add_routes(app.router)
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    expected = render(store)
    reading = True

    async def other_task() -> None:
        nonlocal turns
        while reading:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    url = f"http://127.0.0.1:{server.port}/metrics"
    async with aiohttp.ClientSession(auto_decompress=False) as session, session.get(url) as resp:
        body = await resp.read()
    reading = False
    await task
    assert len(expected) > 3_000_000
    assert body == expected  # the registry's part is empty here
    # The other task ran between the 256 KiB writes, while the pieces were rendered.
    assert len(set(turn_at_piece)) >= len(expected) // (256 * 1024) - 1
