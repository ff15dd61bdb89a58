"""``source: promql`` metrics read from a Prometheus-compatible query API."""

import asyncio
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from aiwatch.experiments import storage
from aiwatch.experiments.promql import Poller, datasource_query
from aiwatch.experiments.tracker import Tracker
from aiwatch.stats import Proportion, Ratio
from tests.daemons import free_port

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


class Counters:
    """An app's /metrics: per variant, sessions grow by 10 per scrape and conversions by 3 or 5."""

    def __init__(self) -> None:
        self.scrapes = 0

    async def metrics(self, _: web.Request) -> web.Response:
        self.scrapes += 1
        lines = ["# TYPE conversions_total counter", "# TYPE sessions_total counter"]
        for variant, rate in (("a", 3), ("b", 5)):
            lines.append(f'conversions_total{{variant="{variant}"}} {rate * self.scrapes}')
            lines.append(f'sessions_total{{variant="{variant}"}} {10 * self.scrapes}')
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def _prometheus(tmp_path: Path, target_port: int) -> tuple[asyncio.subprocess.Process, str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 200ms}\n"
        "scrape_configs:\n"
        f"  - {{job_name: app, static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]}}\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    log.close()
    return proc, f"http://127.0.0.1:{port}"


async def test_real_prometheus_answers_the_substituted_queries(
    tmp_path: Path, open_store: OpenStore, aiohttp_server: Callable[..., Any]
) -> None:
    """Against Prometheus itself: $variant and $__range give each variant's conversion rate."""
    counters = Counters()
    app = web.Application()
    app.router.add_get("/metrics", counters.metrics)
    server: TestServer = await aiohttp_server(app, host="127.0.0.1", port=0)
    assert server.port is not None
    proc, url = await _prometheus(tmp_path, server.port)
    try:
        config = experiment_config([EXPERIMENT], datasource={"url": url})
        assert config.datasource is not None
        store = await open_store()
        start = time.time()
        tracker = Tracker(store=store, clock=lambda: start)
        await tracker.update(config.experiments)
        arms = tracker.live["checkout"].arms
        async with aiohttp.ClientSession() as session:
            poller = Poller(tracker)
            query = datasource_query(session, config.datasource)
            for _ in range(150):  # until Prometheus has scraped a few times (about 1-3 s)
                await asyncio.sleep(0.1)
                await poller.poll_once(query)
                if all(arms.get((v, "conversion"), Proportion(0, 0)).n >= 30 for v in "ab"):
                    break
        a, b = arms[("a", "conversion")], arms[("b", "conversion")]
        assert a.n >= 30
        assert b.n >= 30
        # increase() extrapolates both counters of a variant alike, so their ratio is exact.
        assert a.mean == pytest.approx(0.3, abs=0.01)
        assert b.mean == pytest.approx(0.5, abs=0.01)
    finally:
        proc.terminate()
        await proc.wait()
