"""How PromQL totals become arm statistics, and query substitution."""

from aiwatch.config.model import ExperimentMetric
from aiwatch.experiments.promql import Totals, step, substitute
from aiwatch.stats import Mean, Proportion, Ratio


def _metric(kind: str) -> ExperimentMetric:
    return ExperimentMetric(name="m", source="promql", kind=kind, numerator="n", denominator="d")  # type: ignore[arg-type]


def test_substitution_of_variant_and_range() -> None:
    """``$variant`` becomes the name, ``$__range`` the whole seconds since start (at least 1s)."""
    query = 'sum(increase(x{variant="$variant"}[$__range]))'
    assert (
        substitute(query, variant="b", range_seconds=90.2) == 'sum(increase(x{variant="b"}[91s]))'
    )
    assert substitute(query, variant="a", range_seconds=0.0).endswith("[1s]))")


def test_proportion_totals_are_the_statistics() -> None:
    """Successes among units: the totals themselves, whatever came before."""
    got = step(_metric("proportion"), Totals(30.0, 200.0), Totals(1.0, 2.0))
    assert got == Proportion(n=200, successes=30.0)


def test_ratio_units_are_poll_intervals() -> None:
    """A ratio adds one (numerator, denominator) pair per interval; the first poll is a baseline."""
    metric = _metric("ratio")
    assert step(metric, Totals(5.0, 50.0), None) is None
    assert step(metric, Totals(9.0, 90.0), Totals(5.0, 50.0)) == Ratio.from_pairs([(4.0, 40.0)])


def test_counter_going_back_adds_nothing() -> None:
    """Totals that fell (a reset, a shorter range) or a zero denominator give no unit."""
    metric = _metric("ratio")
    assert step(metric, Totals(3.0, 90.0), Totals(5.0, 50.0)) is None
    assert step(metric, Totals(6.0, 50.0), Totals(5.0, 50.0)) is None


def test_mean_of_interval_ratios_or_gauge_values() -> None:
    """A mean takes each interval's ratio, or without a denominator the numerator's value."""
    assert step(_metric("mean"), Totals(9.0, 90.0), Totals(5.0, 50.0)) == Mean.from_values([0.1])
    gauge = ExperimentMetric(name="m", source="promql", kind="mean", numerator="avg(x)")
    assert step(gauge, Totals(4.5, None), None) == Mean.from_values([4.5])
