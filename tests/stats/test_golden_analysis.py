"""Golden tests of ``analyze``: whole A/B/n experiments against gbstats, statsmodels and scipy.

Each seeded experiment has four arms and two to four metrics with random kinds, goals and
guardrail flags, under a random method, difference and correction. Every row must carry the
numbers gbstats gives for that pair, the adjusted p-values must be statsmodels'
``multipletests`` over the primary metrics' gbstats p-values, and the SRM p-value must be
``scipy.stats.chisquare``'s. Tolerances as in ``test_golden.py``.
"""

import math
import random
import warnings
from typing import Any

import numpy as np
import pytest
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.bayesian.tests import GaussianPrior as GbPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from aiwatch.config.model import Experiment, ExperimentMetric, Variant
from aiwatch.stats.analysis import analyze
from aiwatch.stats.sufficient import SufficientStats

from .cases import draw_arms, to_gbstats

SEED = 424242
N_EXPERIMENTS = 50
REL = 1e-6
FLOOR = 1e-15
ARMS = ("control", "b", "c", "d")


def _experiment(rng: random.Random) -> tuple[Experiment, dict[tuple[str, str], SufficientStats]]:
    metrics = []
    data: dict[tuple[str, str], SufficientStats] = {}
    for i in range(rng.randint(2, 4)):
        kind, arms = draw_arms(rng, len(ARMS))
        name = f"m{i}"
        metrics.append(
            ExperimentMetric(
                name=name,
                source="observations",
                kind="proportion" if kind == "proportion" else "mean",
                goal=rng.choice(["increase", "decrease"]),
                guardrail=i > 0 and rng.random() < 0.3,
            )
        )
        data.update({(arm, name): stats for arm, stats in zip(ARMS, arms, strict=True)})
    method = rng.choice(["frequentist", "sequential", "bayesian"])
    proper = rng.random() < 0.5
    experiment = Experiment(
        name="golden",
        control="control",
        variants=tuple(Variant(name=a, weight=rng.uniform(0.1, 1)) for a in ARMS),
        metrics=tuple(metrics),
        alpha=rng.choice([0.01, 0.05, 0.1]),
        method=method,  # type: ignore[arg-type]
        sequential_tuning=rng.choice([100.0, 5000.0, 1e6]),
        prior_mean=0.02 if proper else None,
        prior_variance=0.09 if proper else None,
        difference=rng.choice(["relative", "absolute"]),
        correction=rng.choice(["none", "holm", "bh"]),
        min_samples=2,
    )
    return experiment, data


def _gbstats(experiment: Experiment, metric: ExperimentMetric, a: Any, b: Any) -> Any:
    difference = experiment.difference
    if experiment.method == "frequentist":
        cfg = FrequentistConfig(difference_type=difference, alpha=experiment.alpha)
        return TwoSidedTTest(a, b, cfg).compute_result()
    if experiment.method == "sequential":
        seq = SequentialConfig(
            difference_type=difference,
            alpha=experiment.alpha,
            sequential_tuning_parameter=experiment.sequential_tuning,
        )
        return SequentialTwoSidedTTest(a, b, seq).compute_result()
    prior = GbPrior(
        mean=experiment.prior_mean or 0.0,
        variance=experiment.prior_variance or 1.0,
        proper=experiment.prior_variance is not None,
    )
    bayes = EffectBayesianConfig(
        difference_type=difference,
        alpha=experiment.alpha,
        inverse=metric.goal == "decrease",
        prior_effect=prior,
        prior_type="relative",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EffectBayesianABTest(a, b, bayes).compute_result()


def _close(ours: float | None, theirs: float, floor: float = 0.0) -> bool:
    return ours is not None and math.isclose(ours, float(theirs), rel_tol=REL, abs_tol=floor)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")
@pytest.mark.parametrize("seed", range(N_EXPERIMENTS))
def test_analyze_matches_gbstats_statsmodels_scipy(seed: int) -> None:
    """Every row of an A/B/n analysis equals the oracles' numbers for the same inputs."""
    rng = random.Random(SEED + seed)
    experiment, data = _experiment(rng)
    units = {a: rng.randint(1000, 1_000_000) for a in ARMS}
    result = analyze(experiment, data, units=units)
    family: list[tuple[str, str, float]] = []
    for metric in experiment.metrics:
        control = to_gbstats(data[("control", metric.name)])
        for arm in ARMS[1:]:
            gb = _gbstats(experiment, metric, control, to_gbstats(data[(arm, metric.name)]))
            row = result.row(variant=arm, metric=metric.name)
            assert row.n == data[(arm, metric.name)].n
            assert row.guard is None, row
            assert row.ci is not None
            assert _close(row.lift, gb.expected)
            assert _close(row.ci[0], gb.ci[0], 1e-12 * gb.uplift.stddev)
            assert _close(row.ci[1], gb.ci[1], 1e-12 * gb.uplift.stddev)
            if experiment.method == "bayesian":
                scale = FLOOR * (abs(gb.expected) + gb.uplift.stddev)
                assert row.risk is not None
                assert row.p_value is None
                assert _close(row.chance_to_win, gb.chance_to_win, FLOOR)
                assert _close(row.risk[0], gb.risk[0], scale)
                assert _close(row.risk[1], gb.risk[1], scale)
            else:
                assert row.chance_to_win is None
                assert _close(row.p_value, gb.p_value, FLOOR)
                if metric.guardrail or experiment.correction == "none":
                    assert row.adjusted_p_value == row.p_value
                else:
                    family.append((arm, metric.name, gb.p_value))
    if family and experiment.correction != "none":
        method = {"holm": "holm", "bh": "fdr_bh"}[experiment.correction]
        want = multipletests(np.array([p for *_, p in family]), method=method)[1]
        for (arm, metric_name, _), expected in zip(family, want, strict=True):
            got = result.row(variant=arm, metric=metric_name).adjusted_p_value
            assert _close(got, expected, FLOOR)
    counts = [units[a] for a in ARMS]
    weights = [v.weight for v in experiment.variants]
    expected_counts = [sum(counts) * w / sum(weights) for w in weights]
    chi = scipy_stats.chisquare(counts, expected_counts)
    assert math.isclose(result.srm_p_value, chi.pvalue, rel_tol=REL, abs_tol=1e-300)
