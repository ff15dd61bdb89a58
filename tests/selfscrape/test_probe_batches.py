"""The self-scrape of probe targets: the same samples as /metrics, and a bounded footprint."""

import gc
import tracemalloc
from typing import Any

from aiwatch.probes.exposition import render
from aiwatch.probes.series import ProbeSeries
from aiwatch.promql.storage import LabelMatcher, MemoryStorage, is_stale
from aiwatch.selfscrape import SelfScraper
from tests.probes.test_series import result, target


def stored(storage: MemoryStorage, t_ms: int) -> dict[tuple[tuple[str, str], ...], float]:
    """Every series' value at exactly ``t_ms``, without ``job``, ``instance`` and ``up``."""
    out = {}
    for key, times, values in storage.select([LabelMatcher("__name__", "=~", ".+")], 0, t_ms):
        if times[-1] == t_ms and dict(key)["__name__"] != "up":
            out[tuple(p for p in key if p[0] not in ("job", "instance"))] = values[-1]
    return out


def exposed(series: ProbeSeries) -> dict[tuple[tuple[str, str], ...], float]:
    """The probe samples as ``iter_samples`` lists them, keyed as the store keys them (an
    empty label value is no label)."""
    return {
        tuple(sorted((*(p for p in labels if p[1]), ("__name__", name)))): value
        for name, labels, value in series.iter_samples()
    }


def scraper_of(series: ProbeSeries, storage: MemoryStorage) -> SelfScraper:
    """A self-scrape of the probe series only."""
    return SelfScraper(storage, series.sample_batches, instance="i:1", retention_ms=10**9)


def test_new_series_of_a_target_are_stored_and_gone_ones_go_stale() -> None:
    """A target's samples are stored as listed, also after a new error type adds a series
    (the kept keys must follow) and after its labels change (the old series go stale)."""
    series, storage = ProbeSeries(), MemoryStorage()
    scraper = scraper_of(series, storage)
    series.ensure(target("a"))
    series.ensure(target("b"))
    series.observe(result(target="a"))
    scraper.scrape(1_000)
    assert stored(storage, 1_000) == exposed(series)
    series.observe(result(target="a", success=False, error_type="timeout"))
    series.observe(result(target="b", success=False, error_type="rate_limited"))
    scraper.scrape(2_000)
    assert stored(storage, 2_000) == exposed(series)
    errors = {dict(k)["target"]: v for k, v in stored(storage, 2_000).items() if
              dict(k)["__name__"] == "aiwatch_probe_errors_total"}  # fmt: skip
    assert errors == {"a": 1.0, "b": 1.0}
    series.ensure(target("a", feature="moved"))
    scraper.scrape(3_000)
    live = {k: v for k, v in stored(storage, 3_000).items() if not is_stale(v)}
    assert live == exposed(series)
    old = [LabelMatcher("target", "=", "a"), LabelMatcher("feature", "!=", "moved")]
    gone = storage.select(old, 0, 3_000)
    assert gone
    assert all(is_stale(values[-1]) for _, _, values in gone)


def test_a_target_removed_goes_stale_and_one_added_back_does_not() -> None:
    """A target no longer listed gets a staleness marker on each of its series; a target
    removed and added back between two scrapes (a reload, say) keeps its series live, and a
    series its shape no longer has (a rate-limit resource that stopped) goes stale."""
    series, storage = ProbeSeries(), MemoryStorage()
    scraper = scraper_of(series, storage)
    for name in ("a", "b", "c"):
        series.ensure(target(name))
        series.observe(result(target=name, ratelimit_remaining_requests=7.0))
    scraper.scrape(1_000)
    series.remove("a")
    series.remove("b")
    series.ensure(target("b"))
    series.observe(result(target="b"))
    series.targets["c"].ratelimit.clear()
    scraper.scrape(2_000)
    at_2000 = stored(storage, 2_000)
    live = {k: v for k, v in at_2000.items() if not is_stale(v)}
    assert live == exposed(series)
    stale = {k for k, v in at_2000.items() if is_stale(v)}
    stale_targets = {(dict(k)["target"], dict(k)["__name__"]) for k in stale}
    assert {t for t, _ in stale_targets} == {"a", "c"}
    assert {n for t, n in stale_targets if t == "c"} == {"aiwatch_ratelimit_remaining"}
    a_before = {k for k in stored(storage, 1_000) if dict(k).get("target") == "a"}
    assert a_before <= stale
    scraper.scrape(3_000)
    assert all(not is_stale(v) for v in stored(storage, 3_000).values())


def test_the_store_keeps_the_self_scrapes_own_key_objects() -> None:
    """The store keys each probe series by the very tuple the self-scrape keeps for it, not
    by an equal copy, also after a target's shape changed (a new error type): one key per
    series in memory, not two."""
    series, storage = ProbeSeries(), MemoryStorage()
    scraper = scraper_of(series, storage)
    for name in ("a", "b"):
        series.ensure(target(name))
        series.observe(result(target=name))
    scraper.scrape(1_000)
    series.observe(result(target="a", success=False, error_type="timeout"))  # a new series
    scraper.scrape(2_000)
    kept = {id(key) for _, _, keys in scraper._batches.values() for key in keys}
    of_targets = [LabelMatcher("target", "=~", ".+")]
    held = [key for key, _, _ in storage.select(of_targets, 0, 2_000)]
    assert len(held) == len(kept) > 100
    assert {id(key) for key in held} == kept
    again = tuple(held[0])
    assert storage.canonical(held[0]) is held[0]
    assert storage.canonical(again) == held[0]


def test_targets_with_the_same_batch_shape_share_one_kept_shape() -> None:
    """The self-scrape keeps one shape object for targets whose batches have equal shapes
    (the names and per-sample labels of their samples), not one per target, and forgets
    shapes no target has any more."""
    series, storage = ProbeSeries(), MemoryStorage()
    scraper = scraper_of(series, storage)
    for i in range(40):
        series.ensure(target(f"t{i}"))
        series.observe(result(target=f"t{i}"))
    scraper.scrape(1_000)
    shapes = {id(shape) for _, shape, _ in scraper._batches.values()}
    assert len(scraper._batches) == 40
    assert len(shapes) == 1
    for step in range(1, 60):  # every target a shape of its own, again and again
        for i in range(40):
            series.observe(result(target=f"t{i}", success=False, error_type=f"e{step}x{i}"))
        scraper.scrape(1_000 + 1_000 * step)
    assert len(scraper._shapes) <= 2 * 40 + 16
    assert stored(storage, 60_000) == exposed(series)


def test_a_sliced_scrape_of_probe_targets_pauses_between_targets() -> None:
    """With ``pause_every`` below a target's sample count, a scrape of five probe targets
    pauses after the first of them (and each next one, so the event loop runs), and stores
    what a scrape in one go stores."""
    series, whole, sliced = ProbeSeries(), MemoryStorage(), MemoryStorage()
    for i in range(5):
        series.ensure(target(f"t{i}"))
        series.observe(result(target=f"t{i}"))
    scraper_of(series, whole).scrape(1_000)
    steps = scraper_of(series, sliced).scrape_steps(1_000, pause_every=10)
    next(steps)
    at_first_pause = {dict(key).get("target") for key in stored(sliced, 1_000)}
    assert at_first_pause == {"t0"}
    for _ in steps:
        pass
    assert stored(sliced, 1_000) == stored(whole, 1_000) == exposed(series)


def footprint(n: int) -> int:
    """Traced bytes held by ``n`` probed targets' series, self-scrape and local store after
    three scrapes and three ``/metrics`` pages (rendered, not kept)."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    series, storage = ProbeSeries(), MemoryStorage()
    scraper = scraper_of(series, storage)
    for i in range(n):
        series.ensure(target(f"t{i:04d}", feature=f"f{i % 7}"))
    for step in range(3):
        for i in range(n):
            failed = (i + step) % 5 == 0
            series.observe(result(target=f"t{i:04d}", success=not failed, error_type="timeout"
                                  if failed else None))  # fmt: skip
        render(series)
        scraper.scrape(1_000 + 15_000 * step)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    keep: list[Any] = [series, storage, scraper]
    del keep
    return held


def test_memory_per_probed_target_stays_bounded() -> None:
    """Each added streaming chat target costs under 150 KB of Python memory in the sample
    path (its ~100 series, their exposition text, the self-scrape's keys and the store with
    three scrapes): about 100 KB when this was written, ~109 KB before the self-scrape
    stopped keeping a label set per series. A gross regression (a per-series object that
    grows with each scrape, a second copy of the page) fails this."""
    tracemalloc.start()
    try:
        small, large = footprint(20), footprint(120)
    finally:
        tracemalloc.stop()
    per_target = (large - small) / 100
    assert 10_000 < per_target < 150_000, per_target
