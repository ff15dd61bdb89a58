"""Random sufficient statistics for golden tests, and their gbstats counterparts."""

import math
import random
from dataclasses import dataclass

from gbstats.models.statistics import ProportionStatistic, RatioStatistic, SampleMeanStatistic

from aiwatch.stats.sufficient import Mean, Proportion, Ratio, SufficientStats

KINDS = ("proportion", "mean", "ratio")
SIZES = {"tiny": (2, 30), "medium": (30, 1e5), "huge": (1e5, 1e10)}


@dataclass(frozen=True)
class Case:
    """One control/variant pair and how it was drawn."""

    kind: str
    size: str
    control: SufficientStats
    variant: SufficientStats
    degenerate: bool


def _log_uniform_int(rng: random.Random, lo: float, hi: float) -> int:
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _proportion(n: int, p: float) -> Proportion:
    return Proportion(n=n, successes=float(min(max(round(p * n), 1), n - 1)))


def _mean(n: int, center: float, sd: float) -> Mean:
    return Mean(n=n, sum=n * center, sum_squares=(n - 1) * sd * sd + n * center * center)


def _ratio(rng: random.Random, n: int, center: float, scale: float) -> Ratio:
    mm, md = center * rng.uniform(1, 3), rng.uniform(0.5, 4)
    sm, sd = scale * rng.uniform(0.5, 2), rng.uniform(0.1, 1.0)
    rho = rng.uniform(-0.9, 0.9)
    return Ratio(
        n=n,
        numerator_sum=n * mm,
        numerator_sum_squares=(n - 1) * sm * sm + n * mm * mm,
        denominator_sum=n * md,
        denominator_sum_squares=(n - 1) * sd * sd + n * md * md,
        cross_sum=(n - 1) * rho * sm * sd + n * mm * md,
    )


def _degenerate(rng: random.Random, kind: str) -> tuple[SufficientStats, SufficientStats]:
    """Pairs that gbstats refuses: constant values, n = 1, zero means, zero denominators."""
    n = rng.randint(1, 50)
    if kind == "proportion":
        good = Proportion(n=100, successes=30.0)
        bad = rng.choice([Proportion(n=n, successes=0.0), Proportion(n=n, successes=float(n))])
    elif kind == "mean":
        good = Mean(n=100, sum=300.0, sum_squares=1000.0)
        v = rng.randint(0, 5)
        bad = Mean(n=n, sum=float(v * n), sum_squares=float(v * v * n))
    else:
        good = Ratio(100, 300.0, 1000.0, 200.0, 500.0, 650.0)
        bad = Ratio(n, 3.0 * n, 10.0 * n, 0.0, 0.0, 0.0)
    return (bad, good) if rng.random() < 0.5 else (good, bad)


def draw(rng: random.Random) -> Case:
    """A random case: any kind; tiny, medium or huge n; control means down to 1e-8."""
    kind = rng.choice(KINDS)
    size = rng.choice(list(SIZES))
    if rng.random() < 0.1:
        control, variant = _degenerate(rng, kind)
        return Case(kind, "degenerate", control, variant, degenerate=True)
    lo, hi = SIZES[size]
    n_a, n_b = _log_uniform_int(rng, lo, hi), _log_uniform_int(rng, lo, hi)
    lift = rng.uniform(0.7, 1.4)
    if kind == "proportion":
        base = math.exp(rng.uniform(math.log(1e-4), math.log(0.95)))
        return Case(
            kind, size, _proportion(n_a, base), _proportion(n_b, base * lift), degenerate=False
        )
    base = 10 ** rng.uniform(-8, 4) if rng.random() < 0.3 else rng.uniform(0.5, 100)
    scale = base * 10 ** rng.uniform(-2, 1)
    if kind == "mean":
        a = _mean(n_a, base, scale * rng.uniform(0.2, 3))
        b = _mean(n_b, base * lift, scale * rng.uniform(0.2, 3))
    else:
        a, b = _ratio(rng, n_a, base, scale), _ratio(rng, n_b, base * lift, scale)
    return Case(kind, size, a, b, degenerate=False)


def to_gbstats(
    stats: SufficientStats,
) -> ProportionStatistic | SampleMeanStatistic | RatioStatistic:
    """The gbstats statistic holding the same sums."""
    if isinstance(stats, Proportion):
        return ProportionStatistic(n=stats.n, sum=stats.successes)
    if isinstance(stats, Mean):
        return SampleMeanStatistic(n=stats.n, sum=stats.sum, sum_squares=stats.sum_squares)
    return RatioStatistic(
        n=stats.n,
        m_statistic=SampleMeanStatistic(
            n=stats.n, sum=stats.numerator_sum, sum_squares=stats.numerator_sum_squares
        ),
        d_statistic=SampleMeanStatistic(
            n=stats.n, sum=stats.denominator_sum, sum_squares=stats.denominator_sum_squares
        ),
        m_d_sum_of_products=stats.cross_sum,
    )


def draw_arms(rng: random.Random, k: int) -> tuple[str, list[SufficientStats]]:
    """``k`` arms of one kind and size class, as one metric of an A/B/n test."""
    kind = rng.choice(KINDS)
    lo, hi = SIZES[rng.choice(list(SIZES))]
    sizes = [_log_uniform_int(rng, lo, hi) for _ in range(k)]
    if kind == "proportion":
        base = math.exp(rng.uniform(math.log(1e-3), math.log(0.9)))
        return kind, [_proportion(n, base * rng.uniform(0.8, 1.1)) for n in sizes]
    base = 10 ** rng.uniform(-8, 4) if rng.random() < 0.3 else rng.uniform(0.5, 100)
    scale = base * 10 ** rng.uniform(-2, 1)
    if kind == "mean":
        arms: list[SufficientStats] = [
            _mean(n, base * rng.uniform(0.8, 1.2), scale * rng.uniform(0.5, 2)) for n in sizes
        ]
    else:
        arms = [_ratio(rng, n, base * rng.uniform(0.8, 1.2), scale) for n in sizes]
    return kind, arms
