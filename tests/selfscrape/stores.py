"""Stores for the recovery tests: scrapes with every kind of sample, windows to compare."""

import math
import random

from aiwatch.promql.storage import STALE_NAN, LabelMatcher, MemoryStorage, is_stale

ALL = [LabelMatcher("__name__", "=~", ".+")]
STEP = 15_000


def bits(values: object) -> list[str]:
    return [repr(v) + ("s" if is_stale(v) else "") for v in values]  # type: ignore[attr-defined]


def windows(storage: MemoryStorage, mint: int, maxt: int) -> list[object]:
    """Every window a query reads, with values as reprs (so NaNs and stale markers compare)."""
    plain = [(k, list(t), bits(v)) for k, t, v in storage.select(ALL, mint, maxt)]
    counters = [
        (k, list(t), bits(v), None if r is None else list(r))
        for k, t, v, r in storage.select_counters(ALL, mint, maxt)
    ]
    dumped = sorted((k, list(t), bits(v)) for k, t, v in storage.dump(mint, maxt))
    return [plain, counters, dumped]


def labels(name: str, i: int) -> dict[str, str]:
    # Non-ASCII label text, and a lone surrogate that only a lenient encoding keeps.
    return {"__name__": name, "target": f"chat{i:03d}", "model": "gpt-ü\udcff"}


def scrape(storage: MemoryStorage, step: int, rng: random.Random, count: int) -> None:
    """One scrape: counters that reset, gauges that fall often, a series that goes stale
    and comes back, NaN values, a replaced sample, and a series that starts late."""
    t_ms = 1_700_000_000_000 + step * STEP + rng.randint(0, 5)
    for i in range(count):
        counter = float(step % 97 if i % 2 else step // 3)  # resets every 97 steps for odd i
        storage.append(labels("requests_total", i), t_ms, counter)
        storage.append(labels("ratelimit_remaining", i), t_ms, float(rng.randint(0, 100)))
        flap = STALE_NAN if step % 50 in (10, 11) else float(step % 2)
        storage.append(labels("up", i), t_ms, flap)
        storage.append(
            labels("latency_seconds", i), t_ms, math.nan if step % 41 == 0 else rng.random()
        )
    if step % 7 == 0:  # a re-evaluated recording rule replaces its newest sample
        storage.append({"__name__": "job:rate"}, t_ms, 1.0)
        storage.append({"__name__": "job:rate"}, t_ms, 2.0 + step)
    if step > 320:
        storage.append({"__name__": "late", "t": str(step % 3)}, t_ms, float(step))
