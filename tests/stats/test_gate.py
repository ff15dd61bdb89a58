"""Release gates: the always-valid error rate under continuous peeking, constant arms,
proportions without failures, samples needed and the threshold test."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiwatch.stats import Mean, Proportion
from aiwatch.stats.gate import against_threshold, compare
from aiwatch.stats.noninferiority import non_inferiority_test


def _ever(decision: str, *, true_harm: float, margin: float, runs: int, seed: int) -> int:
    """Runs (of ``runs``) in which a verdict of ``decision`` appeared at any peek, reading
    after every new pair of samples up to 300 per arm."""
    rng = random.Random(seed)
    hits = 0
    for _ in range(runs):
        a = b = Mean(0, 0.0, 0.0)
        for n in range(1, 301):
            x, y = rng.gauss(1.0, 0.3), rng.gauss(1.0 + true_harm, 0.3)
            a = a.merge(Mean(1, x, x * x))
            b = b.merge(Mean(1, y, y * y))
            if n < 5:
                continue
            result = compare(a, b, margin=margin, goal="decrease", tuning=200)
            if result.decision == decision:
                hits += 1
                break
    return hits


def test_peeking_after_every_sample_keeps_wrong_fails_below_alpha() -> None:
    """The canary is as good as the baseline; read after every sample, a wrong ``fail``
    (harm above a 10 % margin) appears in at most 5 % of 200 runs."""
    assert _ever("fail", true_harm=0.0, margin=0.1, runs=200, seed=1) <= 10


def test_peeking_after_every_sample_keeps_wrong_passes_below_alpha() -> None:
    """The canary is 20 % worse; against a 10 % margin a wrong ``pass`` appears in at most
    5 % of 200 runs, however often it is read."""
    assert _ever("pass", true_harm=0.2, margin=0.1, runs=200, seed=2) <= 10


def test_a_fixed_horizon_test_read_at_every_sample_would_not_hold() -> None:
    """The reason for the sequential interval: the one-sided fixed-horizon test, read after
    every sample, declares a canary 5 % worse worse than a 5 % margin in far more than 5 %
    of 100 runs (its own rate for one planned reading)."""
    rng = random.Random(3)
    wrong = 0
    for _ in range(100):
        a = b = Mean(0, 0.0, 0.0)
        for n in range(1, 151):
            x, y = rng.gauss(1.0, 0.3), rng.gauss(1.05, 0.3)
            a, b = a.merge(Mean(1, x, x * x)), b.merge(Mean(1, y, y * y))
            if n >= 5:
                fixed = non_inferiority_test(a, b, margin=0.05, lower_is_better=True)
                assert not isinstance(fixed, str)
                if fixed.harm - (fixed.harm_bound - fixed.harm) > 0.05:
                    wrong += 1
                    break
    assert wrong > 15


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=10, max_value=10_000))
def test_constant_arms_give_one_answer_for_every_n(n: int) -> None:
    """A cost of 5e-07 per call against 1.5e-06, constant in each arm: the candidate is
    exactly two thirds cheaper, a pass against a 10 % margin, at every sample size."""
    baseline = Mean(n, n * 1.5e-06, n * 1.5e-06 * 1.5e-06)
    candidate = Mean(n, n * 5e-07, n * 5e-07 * 5e-07)
    result = compare(baseline, candidate, margin=0.1, goal="decrease")
    assert result.decision == "pass"
    assert result.constant
    assert result.harm == pytest.approx(-2 / 3)
    worse = compare(candidate, baseline, margin=0.1, goal="decrease")
    assert worse.decision == "fail"
    assert worse.harm == pytest.approx(2.0)


def test_proportions_without_failures_are_not_treated_as_certain() -> None:
    """Both arms all successes: five samples are not enough for a 5 % margin (the adjusted
    spread is not zero), a thousand are; a canary failing a third of the time fails."""
    few = compare(Proportion(5, 5), Proportion(5, 5), margin=0.05, goal="increase")
    assert few.decision == "inconclusive"
    assert few.samples_needed is not None
    assert few.samples_needed > 0
    many = compare(Proportion(1000, 1000), Proportion(1000, 1000), margin=0.05, goal="increase")
    assert many.decision == "pass"
    bad = compare(Proportion(200, 200), Proportion(200, 130), margin=0.05, goal="increase")
    assert bad.decision == "fail"


def test_samples_needed_is_when_the_interval_clears_the_margin() -> None:
    """An inconclusive result's ``samples_needed`` more samples per arm (same estimate and
    spread) make it decide."""
    rng = random.Random(5)
    values = [rng.gauss(1.0, 0.3) for _ in range(20)]
    arm = Mean.from_values(values)
    first = compare(arm, arm, margin=0.1, goal="decrease", tuning=200)
    assert first.decision == "inconclusive"
    assert first.samples_needed is not None
    scale = (20 + first.samples_needed) / 20
    grown = Mean(int(20 * scale), arm.sum * scale, arm.sum_squares * scale)
    assert compare(grown, grown, margin=0.1, goal="decrease", tuning=200).decision == "pass"


def test_threshold_test_reads_each_side() -> None:
    """Green's latency around 1.0 s: below a 2 s threshold it passes, above a 0.5 s one it
    fails, and against 1.0 s itself it stays inconclusive."""
    rng = random.Random(8)
    arm = Mean.from_values([rng.gauss(1.0, 0.1) for _ in range(100)])
    assert against_threshold(arm, threshold=2.0, goal="decrease").decision == "pass"
    assert against_threshold(arm, threshold=0.5, goal="decrease").decision == "fail"
    assert against_threshold(arm, threshold=1.0, goal="decrease").decision == "inconclusive"
    success = Proportion(100, 99)
    assert against_threshold(success, threshold=0.5, goal="increase").decision == "pass"


def test_guards_make_it_inconclusive() -> None:
    """One sample in an arm, or a relative margin over a zero baseline, decide nothing."""
    one = compare(Mean(1, 1.0, 1.0), Mean(5, 5.0, 6.0), margin=0.1, goal="decrease")
    assert (one.decision, one.guard) == ("inconclusive", "n_below_2")
    zero = compare(Mean(5, 0.0, 0.0), Mean(5, 5.0, 6.0), margin=0.1, goal="decrease")
    assert zero.guard == "control_mean_not_positive"
