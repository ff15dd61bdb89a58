"""``source: promql`` metrics read from a Prometheus-compatible query API."""

import re
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.experiments import storage
from aiwatch.experiments.promql import Poller, datasource_query
from aiwatch.experiments.tracker import Tracker
from aiwatch.stats import Proportion, Ratio

from .conftest import OpenStore
from .helpers import experiment_config


class FakePrometheus:
    """``/api/v1/query`` answering from a table of counter totals per variant (the remote edge)."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], float] = {}
        self.queries: list[str] = []
        self.authorization: list[str | None] = []

    async def query(self, request: web.Request) -> web.Response:
        text = request.query["query"]
        self.queries.append(text)
        self.authorization.append(request.headers.get("Authorization"))
        found = re.search(r'(\w+)_total\{variant="(\w+)"\}', text)
        assert found is not None, text
        key = (found[1], found[2])
        result = []
        if key in self.totals:
            result = [{"metric": {}, "value": [request.query["time"], str(self.totals[key])]}]
        return web.json_response(
            {"status": "success", "data": {"resultType": "vector", "result": result}}
        )


EXPERIMENT = {
    "name": "checkout",
    "control": "a",
    "variants": [{"name": "a"}, {"name": "b"}],
    "metrics": [
        {
            "name": "conversion",
            "source": "promql",
            "kind": "proportion",
            "numerator": 'sum(increase(conversions_total{variant="$variant"}[$__range]))',
            "denominator": 'sum(increase(sessions_total{variant="$variant"}[$__range]))',
        },
        {
            "name": "revenue_per_session",
            "source": "promql",
            "numerator": 'sum(increase(revenue_total{variant="$variant"}[$__range]))',
            "denominator": 'sum(increase(sessions_total{variant="$variant"}[$__range]))',
        },
    ],
}


async def test_totals_become_arms_with_variant_and_range_substituted(
    open_store: OpenStore, aiohttp_server: Callable[..., Any]
) -> None:
    """A proportion takes the totals; a ratio adds one unit per poll interval; auth is sent."""
    fake = FakePrometheus()
    app = web.Application()
    app.router.add_get("/api/v1/query", fake.query)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    config = experiment_config(
        [EXPERIMENT],
        datasource={"url": f"http://127.0.0.1:{server.port}", "bearer_token": "s3cret"},
    )
    assert config.datasource is not None
    store = await open_store()
    now = [1000.0]
    tracker = Tracker(store=store, clock=lambda: now[0])
    await tracker.update(config.experiments)
    poller = Poller(tracker, clock=lambda: now[0])
    fake.totals = {
        ("conversions", "a"): 10,
        ("sessions", "a"): 100,
        ("revenue", "a"): 50,
        ("conversions", "b"): 15,
        ("sessions", "b"): 100,
        ("revenue", "b"): 80,
    }
    async with aiohttp.ClientSession() as session:
        query = datasource_query(session, config.datasource)
        now[0] = 1090.5
        await poller.poll_once(query)
        fake.totals.update(
            {
                ("sessions", "a"): 150,
                ("revenue", "a"): 70,
                ("sessions", "b"): 160,
                ("revenue", "b"): 110,
            }
        )
        now[0] = 1100.0
        await poller.poll_once(query)
    assert fake.queries[0] == 'sum(increase(conversions_total{variant="a"}[91s]))'
    assert 'sessions_total{variant="b"}[100s]' in fake.queries[-1]
    assert set(fake.authorization) == {"Bearer s3cret"}
    arms = tracker.live["checkout"].arms
    assert arms[("a", "conversion")] == Proportion(n=150, successes=10.0)
    assert arms[("b", "conversion")] == Proportion(n=160, successes=15.0)
    assert arms[("a", "revenue_per_session")] == Ratio.from_pairs([(20.0, 50.0)])
    assert arms[("b", "revenue_per_session")] == Ratio.from_pairs([(30.0, 60.0)])
    saved = (await store.read(storage.load))["checkout"]
    assert saved.arms == arms


async def test_no_series_and_paused_experiments_add_nothing(
    open_store: OpenStore, aiohttp_server: Callable[..., Any]
) -> None:
    """An empty result leaves the arm alone; a paused experiment is not queried at all."""
    fake = FakePrometheus()
    app = web.Application()
    app.router.add_get("/api/v1/query", fake.query)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    config = experiment_config([EXPERIMENT], datasource={"url": f"http://127.0.0.1:{server.port}"})
    assert config.datasource is not None
    store = await open_store()
    tracker = Tracker(store=store)
    await tracker.update(config.experiments)
    async with aiohttp.ClientSession() as session:
        query = datasource_query(session, config.datasource)
        await Poller(tracker).poll_once(query)
        assert tracker.live["checkout"].arms == {}
        asked = len(fake.queries)
        await tracker.act("checkout", "pause")
        await Poller(tracker).poll_once(query)
    assert asked > 0
    assert len(fake.queries) == asked
