"""The self-scrape stores exactly what a Prometheus scraping /metrics would store."""

import math

from prometheus_client import CollectorRegistry, Counter, Histogram

from aiwatch.promql.storage import LabelMatcher, MemoryStorage, is_stale
from aiwatch.selfscrape import Sample, SelfScraper, registry_samples


def names(storage: MemoryStorage) -> set[str]:
    return {
        dict(key)["__name__"]
        for key, _, _ in storage.select([LabelMatcher("__name__", "=~", ".+")], 0, 10**12)
    }


def test_registry_samples_match_the_text_format() -> None:
    """Counters keep ``_total``; histograms give buckets, sum and count; no ``_created``."""
    registry = CollectorRegistry()
    Counter("demo_requests", "help", registry=registry).inc(3)
    Histogram("demo_seconds", "help", buckets=(1.0,), registry=registry).observe(0.5)
    samples = {(name, labels): value for name, labels, value in registry_samples(registry)}
    assert samples[("demo_requests_total", ())] == 3.0
    assert samples[("demo_seconds_bucket", (("le", "1.0"),))] == 1.0
    assert samples[("demo_seconds_bucket", (("le", "+Inf"),))] == 1.0
    assert samples[("demo_seconds_count", ())] == 1.0
    assert samples[("demo_seconds_sum", ())] == 0.5
    assert not any(name.endswith("_created") for name, _ in samples)


def test_scrape_adds_target_labels_up_and_stale_markers() -> None:
    """Each sample gets job/instance; ``up`` is 1; a vanished series gets one stale marker."""
    storage = MemoryStorage()
    current: list[Sample] = [("a_total", (("x", "1"),), 1.0), ("b", (), 2.0)]
    scraper = SelfScraper(
        storage, lambda: [current], instance="127.0.0.1:9531", retention_ms=60_000
    )
    assert scraper.scrape(1_000) == 3
    ((key, times, values),) = storage.select([LabelMatcher("__name__", "=", "a_total")], 0, 10**6)
    assert dict(key) == {
        "__name__": "a_total",
        "x": "1",
        "job": "aiwatch",
        "instance": "127.0.0.1:9531",
    }
    assert (list(times), list(values)) == ([1_000], [1.0])
    current.pop()
    scraper.scrape(2_000)
    scraper.scrape(3_000)
    ((_, times, values),) = storage.select([LabelMatcher("__name__", "=", "b")], 0, 10**6)
    assert list(times) == [1_000, 2_000]
    assert values[0] == 2.0
    assert is_stale(values[1])
    assert names(storage) == {"a_total", "b", "up"}


def test_retention_bounds_memory() -> None:
    """Samples older than the retention are dropped at each scrape."""
    storage = MemoryStorage()
    scraper = SelfScraper(
        storage, lambda: [[("g", (), math.pi)]], instance="i", retention_ms=10_000
    )
    for t in range(0, 100_000, 1_000):
        scraper.scrape(t)
    assert storage.sample_count() == 2 * 11
