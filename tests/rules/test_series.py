"""The input-series notation of rule unit tests expands like promtool's."""

import math

import pytest

from aiwatch.rules.series import SeriesError, expand_series, parse_metric, parse_values


def test_expanding_notation() -> None:
    """``a+bxn`` gives n+1 values, ``_xn`` n gaps, ``stale`` a staleness marker."""
    values = parse_values("1+2x2 5-1x1 7x1 _ _x2 stale -Inf")
    assert values[:7] == [1, 3, 5, 5, 4, 7, 7]
    assert values[7:10] == [None, None, None]
    stale = values[10]
    assert stale is not None
    assert math.isnan(stale)
    assert values[11] == -math.inf


def test_series_samples_are_spaced_by_interval() -> None:
    """Sample i sits at i × interval; omitted values leave holes."""
    labels, samples = expand_series('up{job="a", instance="x"}', "1 _ 3", 60_000)
    assert labels == {"__name__": "up", "job": "a", "instance": "x"}
    assert samples == [(0, 1.0), (120_000, 3.0)]


def test_metric_forms() -> None:
    """Both ``name{…}`` and ``{__name__="name", …}`` parse; empty means no labels."""
    assert parse_metric('{__name__="up", a="b"}') == {"__name__": "up", "a": "b"}
    assert parse_metric("") == {}
    with pytest.raises(SeriesError):
        parse_metric("up{a=b}")
    with pytest.raises(SeriesError):
        parse_values("1+x3")
