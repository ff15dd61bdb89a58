"""Sufficient statistics: built from raw data, merged, and their moments."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiwatch.stats.sufficient import Mean, Proportion, Ratio

VALUES = st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50)


@given(VALUES, VALUES)
def test_merged_means_equal_the_concatenated_sample(xs: list[float], ys: list[float]) -> None:
    """Merging two arms' sums is the same as summarising all values at once."""
    merged = Mean.from_values(xs).merge(Mean.from_values(ys))
    whole = Mean.from_values(xs + ys)
    assert merged.n == whole.n
    assert merged.sum == pytest.approx(whole.sum, rel=1e-9, abs=1e-6)
    assert merged.sum_squares == pytest.approx(whole.sum_squares, rel=1e-9, abs=1e-6)


def test_proportion_from_outcomes_and_merge() -> None:
    """Outcomes count successes; merged proportions add trials and successes."""
    p = Proportion.from_outcomes([True, False, True, True])
    assert (p.n, p.successes, p.mean) == (4, 3.0, 0.75)
    merged = p.merge(Proportion(6, 1))
    assert (merged.n, merged.successes) == (10, 4.0)
    assert Proportion(0, 0).mean == 0.0


def test_ratio_variance_is_the_delta_method_of_the_unit_ratio() -> None:
    """A ratio's variance equals the first-order (delta) variance from numpy moments."""
    rng = np.random.default_rng(3)
    d = rng.uniform(1, 5, size=400)
    m = 0.3 * d + rng.normal(0, 0.2, size=400)
    r = Ratio.from_pairs(zip(m.tolist(), d.tolist(), strict=True))
    cov = np.cov(m, d)
    mm, md = m.mean(), d.mean()
    expected = cov[0, 0] / md**2 - 2 * cov[0, 1] * mm / md**3 + mm**2 * cov[1, 1] / md**4
    assert r.mean == pytest.approx(m.sum() / d.sum(), rel=1e-12)
    assert r.variance == pytest.approx(expected, rel=1e-9)
    both = r.merge(r)
    assert both.n == 800
    assert both.mean == pytest.approx(r.mean, rel=1e-12)


def test_empty_and_single_arms_have_zero_variance() -> None:
    """Fewer than two units leave no variance to estimate (reported, then guarded)."""
    assert Mean(0, 0.0, 0.0).mean == 0.0
    assert Mean(1, 4.0, 16.0).variance == 0.0
    assert Ratio(1, 1.0, 1.0, 2.0, 4.0, 2.0).variance == 0.0
    assert Ratio(5, 1.0, 1.0, 0.0, 0.0, 0.0).mean == 0.0
