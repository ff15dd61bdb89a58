"""Binary operators, vector matching and aggregations."""

import math

import pytest

from aiwatch.promql import MemoryStorage, PromQLError, instant_query
from tests.promql.helpers import one, query, scalar, store_with


@pytest.fixture
def store() -> MemoryStorage:
    """Requests per job/instance, an info metric per job, and a two-instance gauge."""
    return store_with(
        {
            'req{job="a",instance="1"}': [(0, 10.0)],
            'req{job="a",instance="2"}': [(0, 20.0)],
            'req{job="b",instance="1"}': [(0, 30.0)],
            'info{job="a",team="x"}': [(0, 1.0)],
            'info{job="b",team="y"}': [(0, 1.0)],
            'limit{job="a",instance="1"}': [(0, 15.0)],
            'limit{job="a",instance="2"}': [(0, 15.0)],
        }
    )


def test_arithmetic_drops_the_metric_name_comparison_keeps_it(store: MemoryStorage) -> None:
    """``req * 2`` loses ``__name__``; ``req > 15`` filters and keeps it; ``bool`` drops it."""
    assert query(store, 'req{instance="2"} * 2', 0) == {(("instance", "2"), ("job", "a")): 40.0}
    assert set(query(store, "req > 15", 0)) == {
        (("__name__", "req"), ("instance", "2"), ("job", "a")),
        (("__name__", "req"), ("instance", "1"), ("job", "b")),
    }
    assert query(store, 'req{job="b"} > bool 100', 0) == {(("instance", "1"), ("job", "b")): 0.0}


def test_scalar_on_the_left_of_a_comparison_keeps_the_vector_value(store: MemoryStorage) -> None:
    """``15 < req`` filters like ``req > 15`` and returns the vector's values."""
    assert sorted(query(store, "15 < req", 0).values()) == [20.0, 30.0]


def test_one_to_one_matching_with_on_and_ignoring(store: MemoryStorage) -> None:
    """Matching on all labels but the name; ``on`` keeps only the listed labels."""
    assert query(store, "req - limit", 0) == {
        (("instance", "1"), ("job", "a")): -5.0,
        (("instance", "2"), ("job", "a")): 5.0,
    }
    assert query(store, "req > on(job, instance) limit", 0) == {
        (("instance", "2"), ("job", "a")): 20.0
    }
    assert len(query(store, "req / ignoring(instance, team) group_left info", 0)) == 3
    assert query(store, "req / ignoring(instance) group_left info", 0) == {}  # team differs


def test_group_left_copies_labels_from_the_one_side(store: MemoryStorage) -> None:
    """``group_left(team)`` attaches the info metric's team to every request series."""
    result = query(store, "req * on(job) group_left(team) info", 0)
    assert result == {
        (("instance", "1"), ("job", "a"), ("team", "x")): 10.0,
        (("instance", "2"), ("job", "a"), ("team", "x")): 20.0,
        (("instance", "1"), ("job", "b"), ("team", "y")): 30.0,
    }
    right = query(store, "info * on(job) group_right(team) req", 0)
    assert right == result


def test_many_to_many_without_grouping_is_an_error(store: MemoryStorage) -> None:
    """Two series per job on the "one" side: Prometheus' duplicate-series error."""
    with pytest.raises(PromQLError, match="many-to-many matching not allowed"):
        instant_query("info * on(job) req", store, 0)
    with pytest.raises(PromQLError, match="many-to-one matching must be explicit"):
        instant_query("req * on(job) info", store, 0)


def test_grouping_labels_must_keep_results_unique(store: MemoryStorage) -> None:
    """group_left that maps two series to one label set is an error."""
    with pytest.raises(PromQLError, match="grouping labels must ensure unique matches"):
        instant_query('{__name__=~"req|limit"} * on(job) group_left info', store, 0)


def test_set_operators(store: MemoryStorage) -> None:
    """and/or/unless match on label sets without the name (or on ``on`` labels)."""
    assert len(query(store, "req and limit", 0)) == 2
    assert len(query(store, "req unless limit", 0)) == 1
    assert len(query(store, "req and on(job) info", 0)) == 3
    assert len(query(store, "limit or req", 0)) == 3  # req for job a matched: only b added
    assert query(store, "req and nothing", 0) == {}


def test_arithmetic_producing_duplicate_label_sets_is_an_error(store: MemoryStorage) -> None:
    """Dropping the name from req and limit gives identical label sets."""
    with pytest.raises(PromQLError, match="same labelset"):
        instant_query('{__name__=~"req|limit"} + 1', store, 0)
    with pytest.raises(PromQLError, match="same labelset"):
        instant_query('-{__name__=~"req|limit"}', store, 0)


def test_division_and_modulo_by_zero_follow_ieee() -> None:
    """x/0 is ±Inf (NaN for 0/0) and x%0 is NaN, never an exception."""
    store = MemoryStorage()
    assert scalar(store, "1 / 0", 0) == math.inf
    assert scalar(store, "-1 / 0", 0) == -math.inf
    assert math.isnan(scalar(store, "0 / 0", 0))
    assert math.isnan(scalar(store, "5 % 0", 0))
    assert scalar(store, "-7 % 3", 0) == -1.0  # sign of the dividend, like Go
    assert scalar(store, "2 ^ 10", 0) == 1024.0
    assert scalar(store, "-2 ^ 2", 0) == -4.0  # ^ binds tighter than unary minus
    assert scalar(store, "0 ^ -1", 0) == math.inf
    assert scalar(store, "2 ^ 3 ^ 2", 0) == 512.0  # right associative
    assert scalar(store, "1 > bool 2", 0) == 0.0


def test_aggregations_by_and_without(store: MemoryStorage) -> None:
    """sum/avg/min/max/count/group with ``by`` and ``without``."""
    assert query(store, "sum by (job) (req)", 0) == {(("job", "a"),): 30.0, (("job", "b"),): 30.0}
    assert query(store, "sum without (instance) (req)", 0) == {
        (("job", "a"),): 30.0,
        (("job", "b"),): 30.0,
    }
    assert one(store, "avg(req)", 0) == 20.0
    assert one(store, "min(req)", 0) == 10.0
    assert one(store, "max(req)", 0) == 30.0
    assert one(store, "count(req)", 0) == 3.0
    assert query(store, "group by (job) (req)", 0) == {(("job", "a"),): 1.0, (("job", "b"),): 1.0}
    assert one(store, "stdvar(req)", 0) == pytest.approx(200 / 3)
    assert one(store, "stddev(req)", 0) == pytest.approx(math.sqrt(200 / 3))
    assert one(store, "quantile(0.5, req)", 0) == 20.0


def test_topk_bottomk_keep_the_original_series(store: MemoryStorage) -> None:
    """topk/bottomk return input elements with their labels, per group."""
    assert query(store, "topk(1, req)", 0) == {
        (("__name__", "req"), ("instance", "1"), ("job", "b")): 30.0
    }
    assert set(query(store, "bottomk by (job) (1, req)", 0).values()) == {10.0, 30.0}
    assert query(store, "topk(0, req)", 0) == {}


def test_count_values_formats_values_as_go_does() -> None:
    """Label values are shortest decimal strings without exponent."""
    store = store_with({'x{a="1"}': [(0, 1e21)], 'x{a="2"}': [(0, 1e-7)], 'x{a="3"}': [(0, 2.0)]})
    assert query(store, 'count_values("v", x)', 0) == {
        (("v", "1000000000000000000000"),): 1.0,
        (("v", "0.0000001"),): 1.0,
        (("v", "2"),): 1.0,
    }


def test_avg_of_infinities_does_not_become_nan() -> None:
    """avg keeps +Inf when finite values follow it, as Prometheus' incremental mean does."""
    store = store_with({'x{a="1"}': [(0, math.inf)], 'x{a="2"}': [(0, 5.0)]})
    assert one(store, "avg(x)", 0) == math.inf
