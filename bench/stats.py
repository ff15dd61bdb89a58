"""Benchmark: experiment analyses per second, aiwatch.stats against gbstats on the same inputs.

A 4-variant × 5-metric experiment (two proportions, two means, one ratio metric). For each
method it times ``aiwatch.stats.analysis.analyze`` against two gbstats paths doing the same
work (every variant against the control on every metric, plus the SRM check):

* gbstats core: its test classes (``TwoSidedTTest``, ``SequentialTwoSidedTTest``,
  ``EffectBayesianABTest``) and ``check_srm`` called directly, the fastest way to use it;
* gbstats runner: ``process_single_metric`` per metric, the pandas pipeline GrowthBook runs.

Each figure is the median of several repeats. Before timing, the benchmark checks that both
give the same lifts. Run: ``PYTHONPATH=src python bench/stats.py [--repeats 7]``.
"""

import argparse
import math
import random
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.gbstats import process_single_metric
from gbstats.models.settings import AnalysisSettingsForStatsEngine, MetricSettingsForStatsEngine
from gbstats.models.statistics import ProportionStatistic, RatioStatistic, SampleMeanStatistic
from gbstats.utils import check_srm

from aiwatch.config.model import Experiment, ExperimentMetric, Variant
from aiwatch.stats.analysis import analyze
from aiwatch.stats.sufficient import Mean, Proportion, Ratio, SufficientStats

VARIANTS = ("control", "v1", "v2", "v3")
METRICS = (
    ("success_rate", "proportion"),
    ("cache_hit", "proportion"),
    ("latency", "mean"),
    ("output_tokens", "mean"),
    ("cost_per_token", "ratio"),
)
Data = dict[tuple[str, str], SufficientStats]


def make_data(seed: int = 1) -> Data:
    """Seeded sufficient statistics for every variant × metric."""
    rng = random.Random(seed)
    data: Data = {}
    for variant in VARIANTS:
        n = rng.randint(9_000, 11_000)
        for name, kind in METRICS:
            if kind == "proportion":
                data[(variant, name)] = Proportion(n, round(n * rng.uniform(0.85, 0.95)))
            elif kind == "mean":
                mu, sd = rng.uniform(1.0, 1.3), rng.uniform(0.3, 0.5)
                data[(variant, name)] = Mean(n, n * mu, (n - 1) * sd * sd + n * mu * mu)
            else:
                mm, md, sm, sd_ = 0.02, rng.uniform(90, 110), 0.005, 30.0
                data[(variant, name)] = Ratio(
                    n, n * mm, (n - 1) * sm**2 + n * mm**2, n * md, (n - 1) * sd_**2 + n * md**2,
                    (n - 1) * 0.3 * sm * sd_ + n * mm * md,
                )  # fmt: skip
    return data


def make_experiment(method: str) -> Experiment:
    """The experiment config analysed by aiwatch."""
    return Experiment(
        name="bench",
        control="control",
        variants=tuple(Variant(v, weight=0.25) for v in VARIANTS),
        metrics=tuple(
            ExperimentMetric(name, "observations", "ratio" if kind == "ratio" else kind)  # type: ignore[arg-type]
            for name, kind in METRICS
        ),
        method=method,  # type: ignore[arg-type]
        correction="holm",
        min_samples=100,
    )


def _gb_stat(stats: SufficientStats) -> Any:
    if isinstance(stats, Proportion):
        return ProportionStatistic(n=stats.n, sum=stats.successes)
    if isinstance(stats, Mean):
        return SampleMeanStatistic(n=stats.n, sum=stats.sum, sum_squares=stats.sum_squares)
    return RatioStatistic(
        n=stats.n,
        m_statistic=SampleMeanStatistic(stats.n, stats.numerator_sum, stats.numerator_sum_squares),
        d_statistic=SampleMeanStatistic(
            stats.n, stats.denominator_sum, stats.denominator_sum_squares
        ),
        m_d_sum_of_products=stats.cross_sum,
    )


def gbstats_core(method: str, data: Data) -> list[float]:
    """gbstats' test classes on every variant × metric, plus its SRM check; returns lifts."""
    lifts = []
    for name, _ in METRICS:
        a = _gb_stat(data[("control", name)])
        for variant in VARIANTS[1:]:
            b = _gb_stat(data[(variant, name)])
            if method == "frequentist":
                test: Any = TwoSidedTTest(a, b, FrequentistConfig())
            elif method == "sequential":
                test = SequentialTwoSidedTTest(a, b, SequentialConfig())
            else:
                test = EffectBayesianABTest(
                    a, b, EffectBayesianConfig(prior_effect=GaussianPrior())
                )
            lifts.append(test.compute_result().expected)
    check_srm([data[(v, METRICS[0][0])].n for v in VARIANTS], [0.25] * 4)
    return lifts


def _runner_rows(data: Data, name: str, kind: str) -> list[dict[str, Any]]:
    rows = []
    for variant in VARIANTS:
        s = data[(variant, name)]
        row: dict[str, Any] = {"dimension": "All", "variation": variant, "users": s.n, "count": s.n}
        if isinstance(s, Proportion):
            row |= {"main_sum": s.successes, "main_sum_squares": s.successes}
        elif isinstance(s, Mean):
            row |= {"main_sum": s.sum, "main_sum_squares": s.sum_squares}
        elif isinstance(s, Ratio):
            row |= {
                "main_sum": s.numerator_sum,
                "main_sum_squares": s.numerator_sum_squares,
                "denominator_sum": s.denominator_sum,
                "denominator_sum_squares": s.denominator_sum_squares,
                "main_denominator_sum_product": s.cross_sum,
            }
        rows.append(row)
    return rows


def gbstats_runner(method: str, data: Data) -> list[float]:
    """gbstats' pandas pipeline, one ``process_single_metric`` per metric; returns lifts."""
    analysis = AnalysisSettingsForStatsEngine(
        var_names=list(VARIANTS),
        var_ids=list(VARIANTS),
        weights=[0.25] * 4,
        stats_engine="bayesian" if method == "bayesian" else "frequentist",
        sequential_testing_enabled=method == "sequential",
    )
    lifts = []
    for name, kind in METRICS:
        settings = MetricSettingsForStatsEngine(
            id=name,
            name=name,
            statistic_type="ratio" if kind == "ratio" else "mean",
            main_metric_type="binomial" if kind == "proportion" else "count",
            denominator_metric_type="count" if kind == "ratio" else None,
        )
        result = process_single_metric(_runner_rows(data, name, kind), settings, [analysis])
        variations = result.analyses[0].dimensions[0].variations
        lifts.extend(v.expected for v in variations[1:])  # type: ignore[union-attr]
    return lifts


def aiwatch_lifts(method: str, data: Data) -> list[float]:
    """aiwatch's analysis; returns the lifts in gbstats' order."""
    result = analyze(make_experiment(method), data)
    return [
        result.row(variant=v, metric=name).lift or 0.0 for name, _ in METRICS for v in VARIANTS[1:]
    ]


def rate(fn: Callable[[], object], *, repeats: int, seconds: float) -> float:
    """Median calls per second over ``repeats`` runs of about ``seconds`` each."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    loops = max(1, int(seconds / once))
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        rates.append(loops / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    """Check agreement, then print analyses per second and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="per repeat")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = make_data()
    print(f"4 variants x 5 metrics; median of {args.repeats} repeats, analyses per second")
    print(f"{'method':<12} {'aiwatch':>10} {'gb core':>10} {'gb runner':>10} "
          f"{'x core':>8} {'x runner':>9}")  # fmt: skip
    for method in ("frequentist", "sequential", "bayesian"):
        ours = aiwatch_lifts(method, data)
        for theirs in (gbstats_core(method, data), gbstats_runner(method, data)):
            assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(ours, theirs, strict=True))
        r_ours = rate(lambda m=method: analyze(make_experiment(m), data), **vars(args))
        r_core = rate(lambda m=method: gbstats_core(m, data), **vars(args))
        r_runner = rate(lambda m=method: gbstats_runner(m, data), **vars(args))
        print(
            f"{method:<12} {r_ours:>10.0f} {r_core:>10.0f} {r_runner:>10.1f} "
            f"{r_ours / r_core:>8.1f} {r_ours / r_runner:>9.0f}"
        )


if __name__ == "__main__":
    main()
