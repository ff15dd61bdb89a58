"""Benchmark: rendering the probe series of /metrics, aiwatch against prometheus-client.

For 1,000 and 5,000 streaming chat targets (every histogram populated, tokens, cost, rate
limits, target info) it builds aiwatch's series store and the equivalent prometheus-client
metrics holding the same observations, then prints the median time of aiwatch's renderer and
of ``generate_latest`` and their ratio (both render everything from scratch). It checks the
output with ``promtool check metrics`` and measures how long the event loop stalls while a
real aiwatch app serves ``/metrics`` to curl (another process, as Prometheus would be),
rendering the probe series as it writes the page and letting the loop run between its
256 KiB writes (a 1 ms ticker runs meanwhile; its worst overshoot is the stall): on the
first scrape, and in a steady state where a tenth of the targets got a new result since the
previous scrape.

Run: ``PYTHONPATH=src python bench/exposition.py [--sizes 1000,5000] [--repeats 5]``.
"""

import argparse
import asyncio
import gc
import random
import shutil
import statistics
import subprocess
import time
from typing import Any

import aiohttp
import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from aiwatch import metrics
from aiwatch.app.build import make_app
from aiwatch.app.keys import RENDERERS
from aiwatch.config import Config
from aiwatch.config.model import Price, Target
from aiwatch.probes.exposition import pieces, render
from aiwatch.probes.result import ProbeResult
from aiwatch.probes.series import ProbeSeries
from aiwatch.runtime import ConfigState, Options

PROBES_PER_TARGET = 20
LABELS = ["target", "kind", "feature", "model", "team"]


def results(rng: random.Random, name: str) -> list[ProbeResult]:
    """Probe results with values spread over every bucket range."""
    out = []
    for i in range(PROBES_PER_TARGET):
        ok = i % 7 != 0
        duration = rng.lognormvariate(-0.5, 1.2)
        out.append(
            ProbeResult(
                target=name,
                success=ok,
                error_type=None if ok else ("timeout", "server_error")[i % 2],
                error=None,
                status_code=200 if ok else 503,
                duration=duration,
                time_to_first_byte=duration * 0.3,
                time_to_first_token=duration * 0.4,
                time_per_output_token=rng.uniform(0.005, 0.3),
                input_tokens=12,
                output_tokens=rng.randint(1, 40),
                cost_usd=1e-5,
                ratelimit_remaining_requests=float(rng.randint(0, 10000)),
                ratelimit_remaining_tokens=float(rng.randint(0, 100000)),
                response_model="gpt-4o-mini-2024-07-18",
                system_fingerprint="fp_44709d6fcb",
                embedding_dimensions=None,
                checks=(),
                started_at=1.8e9 + i,
                finished_at=1.8e9 + i + duration,
                request_summary="",
                response_excerpt="",
            )
        )
    return out


def build(n: int) -> tuple[ProbeSeries, CollectorRegistry]:
    """aiwatch's store and a prometheus-client registry holding the same observations."""
    rng = random.Random(n)
    store = ProbeSeries()
    registry = CollectorRegistry(auto_describe=False)

    def metric(cls: Any, d: metrics.MetricDef, extra: tuple[str, ...] = (), **kw: Any) -> Any:
        name = d.name.removesuffix("_total") if d.type == "counter" else d.name
        return cls(name, d.help, [*LABELS, *extra], registry=registry, **kw)

    success = metric(Gauge, metrics.PROBE_SUCCESS)
    probes = metric(Counter, metrics.PROBES, ("result",))
    errors = metric(Counter, metrics.PROBE_ERRORS, ("error_type",))
    hists = {
        "duration": metric(Histogram, metrics.PROBE_DURATION, buckets=metrics.DURATION_BUCKETS),
        "time_to_first_byte": metric(
            Histogram, metrics.PROBE_TTFB, buckets=metrics.DURATION_BUCKETS
        ),
        "time_to_first_token": metric(Histogram, metrics.PROBE_TTFT, buckets=metrics.TTFT_BUCKETS),
        "time_per_output_token": metric(
            Histogram, metrics.PROBE_TPOT, buckets=metrics.TPOT_BUCKETS
        ),
    }
    tokens = metric(Counter, metrics.PROBE_TOKENS, ("type",))
    cost = metric(Counter, metrics.PROBE_COST)
    status = metric(Gauge, metrics.PROBE_STATUS)
    last_run = metric(Gauge, metrics.PROBE_LAST_RUN)
    skipped = metric(Counter, metrics.PROBES_SKIPPED)
    ratelimit = metric(Gauge, metrics.RATELIMIT_REMAINING, ("resource",))
    info = metric(Gauge, metrics.TARGET_INFO, ("response_model", "system_fingerprint"))
    for i in range(n):
        name = f"captions-{i:05d}"
        target = Target(
            name=name,
            kind="openai_chat",
            url="https://api.example.com/v1",
            interval=30.0,
            timeout=10.0,
            model="gpt-4o-mini",
            feature="photo-captions",
            labels={"team": "vision"},
            stream=True,
            price=Price(0.15, 0.6),
        )
        store.ensure(target)
        base = [name, "openai_chat", "photo-captions", "gpt-4o-mini", "vision"]
        for result in ("success", "failure"):
            probes.labels(*base, result)
        for kind in ("input", "output"):
            tokens.labels(*base, kind)
        skipped.labels(*base)
        for r in results(rng, name):
            store.observe(r)
            success.labels(*base).set(1.0 if r.success else 0.0)
            probes.labels(*base, "success" if r.success else "failure").inc()
            if not r.success:
                errors.labels(*base, r.error_type).inc()
            for field, histogram in hists.items():
                histogram.labels(*base).observe(getattr(r, field))
            tokens.labels(*base, "input").inc(r.input_tokens or 0)
            tokens.labels(*base, "output").inc(r.output_tokens or 0)
            cost.labels(*base).inc(r.cost_usd or 0.0)
            status.labels(*base).set(r.status_code or 0)
            last_run.labels(*base).set(r.finished_at)
            ratelimit.labels(*base, "requests").set(r.ratelimit_remaining_requests or 0)
            ratelimit.labels(*base, "tokens").set(r.ratelimit_remaining_tokens or 0)
        info.labels(*base, "gpt-4o-mini-2024-07-18", "fp_44709d6fcb").set(1)
    return store, registry


def median_seconds(fn: Any, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def promtool(text: bytes) -> str:
    """What ``promtool check metrics`` says about ``text`` ("clean" if nothing)."""
    binary = shutil.which("promtool")
    if binary is None:
        return "promtool not installed"
    done = subprocess.run(
        [binary, "check", "metrics"], input=text, capture_output=True, check=False
    )
    said = (done.stdout + done.stderr).decode().strip()
    return "clean" if done.returncode == 0 and not said else f"PROBLEMS: {said[:500]}"


async def loop_stall(store: ProbeSeries, *, updated: int) -> dict[str, float]:
    """Serve /metrics from a real aiwatch app with the probe series; loop stalls (ms).

    ``cold``: the first scrape. ``steady``: ``updated`` targets got a new probe result a
    second before, as between two scrapes of a running daemon. Every scrape renders the
    probe series as it writes them (no copy of the page is kept between scrapes).
    """
    state = ConfigState(Config(path="bench.yml"), Options())
    app = make_app(state)
    app[RENDERERS].append(lambda: pieces(store))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    loop = asyncio.get_running_loop()
    worst = 0.0
    running = True

    async def ticker() -> None:
        nonlocal worst
        while running:
            start = loop.time()
            await asyncio.sleep(0.001)
            worst = max(worst, loop.time() - start - 0.001)

    async def scrape(session: aiohttp.ClientSession) -> float:
        url = f"http://{host}:{port}/metrics"
        curl = shutil.which("curl")
        if curl is None:  # reading 60 MB in this process would add to the stall it measures
            start = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
            return time.perf_counter() - start
        proc = await asyncio.create_subprocess_exec(
            curl, "-s", "-o", "/dev/null", "-w", "%{time_total}", url,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        return float(out)

    tick = asyncio.create_task(ticker())
    out = {}
    async with aiohttp.ClientSession() as session:
        await asyncio.sleep(0.05)
        worst = 0.0
        out["cold_scrape"] = await scrape(session) * 1000
        out["cold_stall"] = worst * 1000
        rng = random.Random(1)
        names = list(store.targets)
        steady = []
        for _ in range(3):
            for name in rng.sample(names, updated):
                store.observe(results(rng, name)[0])
            await asyncio.sleep(1.1)
            worst = 0.0
            duration = await scrape(session)
            steady.append((duration * 1000, worst * 1000))
        out["steady_scrape"] = statistics.median(d for d, _ in steady)
        out["steady_stall"] = max(w for _, w in steady)
    running = False
    await tick
    await runner.cleanup()
    return out


def main() -> None:
    """Build, time, check and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # Without _created samples prometheus-client writes the same lines as aiwatch.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    print(
        f"{'targets':>7} {'lines':>8} {'MB':>6} {'aiwatch ms':>11} {'client ms':>10} "
        f"{'ratio':>6} {'promtool':>9} | {'/metrics ms':>11} {'stall ms':>8} cold, "
        f"{'/metrics ms':>11} {'stall ms':>8} steady"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        store, registry = build(n)
        ours = render(store)
        theirs = generate_latest(registry)
        ours_s = median_seconds(lambda store=store: render(store), args.repeats)
        theirs_s = median_seconds(
            lambda registry=registry: generate_latest(registry), max(1, args.repeats // 2)
        )
        ours_lines = ours.count(b"\n") - ours.count(b"\n#")
        theirs_lines = theirs.count(b"\n") - theirs.count(b"\n#")
        check, size = promtool(ours), len(ours)
        # The daemon holds no prometheus-client copy of the probe series: drop it so its
        # millions of objects do not lengthen garbage collections during the served scrapes.
        del registry, theirs, ours
        gc.collect()
        served = asyncio.run(loop_stall(store, updated=n // 10))
        print(
            f"{n:7d} {ours_lines:8d} {size / 1e6:6.1f} {ours_s * 1000:11.1f} "
            f"{theirs_s * 1000:10.1f} {theirs_s / ours_s:6.1f} {check:>9} | "
            f"{served['cold_scrape']:11.1f} {served['cold_stall']:8.1f}       "
            f"{served['steady_scrape']:11.1f} {served['steady_stall']:8.1f}",
            flush=True,
        )
        if ours_lines != theirs_lines:
            print(f"  note: prometheus-client wrote {theirs_lines} sample lines")


if __name__ == "__main__":
    main()
