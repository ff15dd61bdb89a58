"""Golden tests: every output agrees with gbstats 0.8, scipy and statsmodels on random inputs.

Agreement is 1e-6 relative. Three documented absolute floors cover numbers that are pure
floating-point noise on the oracle's side, not disagreements in method:

* probabilities (p-values, chance to win): 1e-15. gbstats forms tails as ``1 - cdf``, whose
  rounding is about 1.1e-16 of 1, and its sequential p-value is ``1/exp(·)``, which overflows
  to exactly 0; aiwatch keeps those digits (survival functions, log space);
* risks: 1e-15 × (|posterior mean| + posterior sd), for the same ``1 - Φ`` rounding multiplied
  by a truncated-normal mean;
* interval bounds: 1e-12 × standard error, because a bound near zero is the difference of two
  nearly equal numbers and its rounding is relative to the width, not to the bound.
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
from gbstats.utils import check_srm
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from aiwatch.stats.bayesian import GaussianPrior, Posterior, effect_bayesian
from aiwatch.stats.correction import adjust
from aiwatch.stats.frequentist import Estimate, two_sided_ttest
from aiwatch.stats.guards import Guard
from aiwatch.stats.sequential import sequential_ttest
from aiwatch.stats.srm import srm_p_value
from aiwatch.stats.sufficient import Mean

from .cases import Case, draw, to_gbstats

SEED = 20261129
N_CASES = 300
REL = 1e-6
PROBABILITY_FLOOR = 1e-15

_rng = random.Random(SEED)
CASES = [draw(_rng) for _ in range(N_CASES)]
SOUND = [c for c in CASES if not c.degenerate]
DIFFERENCES = ("relative", "absolute")


def close(ours: float, theirs: float, *, floor: float = 0.0) -> bool:
    """``ours`` equals ``theirs`` to 1e-6 relative (or within ``floor``)."""
    return math.isclose(ours, float(theirs), rel_tol=REL, abs_tol=floor)


def check_frequentist(ours: Estimate | Guard, theirs: Any, label: str) -> None:
    """Field-by-field comparison with a gbstats ``FrequentistTestResult``."""
    message = getattr(theirs, "error_message", None)
    assert isinstance(ours, Guard) == (message is not None), f"{label}: {ours} vs {message}"
    if isinstance(ours, Guard):
        return
    ci_floor = 1e-12 * ours.stddev
    assert close(ours.lift, theirs.expected), f"{label} lift"
    assert close(ours.stddev, theirs.uplift.stddev), f"{label} stddev"
    assert close(ours.ci[0], theirs.ci[0], floor=ci_floor), f"{label} ci lower"
    assert close(ours.ci[1], theirs.ci[1], floor=ci_floor), f"{label} ci upper"
    assert close(ours.p_value, theirs.p_value, floor=PROBABILITY_FLOOR), f"{label} p"


@pytest.mark.parametrize("difference", DIFFERENCES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}-{c.size}")
def test_welch_matches_gbstats(case: Case, difference: str) -> None:
    """Two-sided Welch t-test: lift, standard error, CI and p-value equal gbstats'."""
    gb = TwoSidedTTest(
        to_gbstats(case.control),
        to_gbstats(case.variant),
        FrequentistConfig(difference_type=difference, alpha=0.05),
    ).compute_result()
    ours = two_sided_ttest(case.control, case.variant, relative=difference == "relative")
    check_frequentist(ours, gb, difference)


@pytest.mark.parametrize("case", SOUND, ids=lambda c: f"{c.kind}-{c.size}")
def test_welch_absolute_matches_scipy(case: Case) -> None:
    """The absolute Welch test gives scipy's ``ttest_ind_from_stats`` statistic and p-value."""
    ours = two_sided_ttest(case.control, case.variant, relative=False)
    assert isinstance(ours, Estimate)
    a, b = case.control, case.variant
    res = scipy_stats.ttest_ind_from_stats(
        b.mean, math.sqrt(b.variance), b.n, a.mean, math.sqrt(a.variance), a.n, equal_var=False
    )
    assert close(ours.lift / ours.stddev, res.statistic)
    assert close(ours.p_value, res.pvalue)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")  # gbstats' e-value
@pytest.mark.parametrize("difference", DIFFERENCES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}-{c.size}")
def test_sequential_matches_gbstats(case: Case, difference: str) -> None:
    """Always-valid CI and p-value equal gbstats' ``SequentialTwoSidedTTest`` for any N*."""
    tuning = (10.0, 5000.0, 1e7)[case.control.n % 3]
    gb = SequentialTwoSidedTTest(
        to_gbstats(case.control),
        to_gbstats(case.variant),
        SequentialConfig(difference_type=difference, sequential_tuning_parameter=tuning),
    ).compute_result()
    ours = sequential_ttest(
        case.control, case.variant, relative=difference == "relative", tuning=tuning
    )
    check_frequentist(ours, gb, f"{difference} N*={tuning}")


PRIORS = [
    GaussianPrior(),  # flat, improper
    GaussianPrior(mean=0.0, variance=0.09, proper=True),
    GaussianPrior(mean=0.05, variance=0.01, proper=True),
]


@pytest.mark.parametrize("lower_is_better", [False, True])
@pytest.mark.parametrize("difference", DIFFERENCES)
@pytest.mark.parametrize("case", CASES[::2], ids=lambda c: f"{c.kind}-{c.size}")
def test_bayesian_matches_gbstats(case: Case, difference: str, lower_is_better: bool) -> None:
    """Posterior mean, credible interval, chance to win and risk equal gbstats' effect model."""
    for prior in PRIORS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gbstats' truncnorm warns in far tails
            gb = EffectBayesianABTest(
                to_gbstats(case.control),
                to_gbstats(case.variant),
                EffectBayesianConfig(
                    difference_type=difference,
                    inverse=lower_is_better,
                    prior_effect=GbPrior(prior.mean, prior.variance, prior.proper),
                    prior_type="relative",
                ),
            ).compute_result()
        ours = effect_bayesian(
            case.control,
            case.variant,
            relative=difference == "relative",
            prior=prior,
            lower_is_better=lower_is_better,
        )
        label = f"{difference} {prior}"
        assert isinstance(ours, Guard) == (gb.error_message is not None), label
        if not isinstance(ours, Posterior):
            continue
        risk_floor = PROBABILITY_FLOOR * (abs(ours.lift) + ours.stddev)
        assert close(ours.lift, gb.expected), f"{label} mean"
        assert close(ours.stddev, gb.uplift.stddev), f"{label} sd"
        assert close(ours.ci[0], gb.ci[0], floor=1e-12 * ours.stddev), f"{label} ci"
        assert close(ours.ci[1], gb.ci[1], floor=1e-12 * ours.stddev), f"{label} ci"
        assert close(ours.chance_to_win, gb.chance_to_win, floor=PROBABILITY_FLOOR), label
        assert close(ours.risk[0], gb.risk[0], floor=risk_floor), f"{label} risk[0]"
        assert close(ours.risk[1], gb.risk[1], floor=risk_floor), f"{label} risk[1]"


def _srm_inputs(seed: int) -> tuple[list[int], list[float]]:
    rng = random.Random(seed)
    k = rng.randint(2, 6)
    weights = [rng.uniform(0.05, 1.0) for _ in range(k)]
    total = _log_uniform(rng, 10, 1e9)
    skew = [w * rng.uniform(0.97, 1.03) for w in weights]
    counts = [round(total * s / sum(skew)) for s in skew]
    return counts, weights


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


@pytest.mark.parametrize("seed", range(60))
def test_srm_matches_scipy_chisquare_and_gbstats(seed: int) -> None:
    """The SRM p-value equals ``scipy.stats.chisquare`` and gbstats' ``check_srm``."""
    counts, weights = _srm_inputs(SEED + seed)
    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    ours = srm_p_value(counts, weights)
    assert close(ours, scipy_stats.chisquare(counts, expected).pvalue, floor=1e-300)
    assert close(ours, check_srm(counts, weights), floor=PROBABILITY_FLOOR)


@pytest.mark.parametrize("method", [("holm", "holm"), ("bh", "fdr_bh")])
@pytest.mark.parametrize("seed", range(40))
def test_corrections_match_statsmodels(seed: int, method: tuple[str, str]) -> None:
    """Holm and Benjamini–Hochberg adjusted p-values equal statsmodels' ``multipletests``."""
    rng = random.Random(SEED * 7 + seed)
    m = rng.randint(1, 24)
    p = [10 ** rng.uniform(-12, 0) if rng.random() < 0.8 else rng.random() for _ in range(m)]
    if m > 3:
        p[1] = p[0]  # ties
    ours, theirs = method
    expected = multipletests(np.array(p), alpha=0.05, method=theirs)[1]
    for got, want in zip(adjust(p, ours), expected, strict=True):
        assert close(got, want)


def test_cases_cover_the_ranges_the_brief_asks_for() -> None:
    """The fixed-seed draw holds all kinds, tiny and huge n, near-zero control means."""
    kinds = {c.kind for c in CASES}
    assert kinds == {"proportion", "mean", "ratio"}
    assert any(min(c.control.n, c.variant.n) < 10 for c in CASES)
    assert any(min(c.control.n, c.variant.n) > 1e8 for c in CASES)
    assert any(0 < c.control.mean < 1e-6 for c in CASES if isinstance(c.control, Mean))
    assert sum(c.degenerate for c in CASES) >= 10
    assert len(CASES) >= 200
