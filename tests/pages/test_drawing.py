"""The inline pictures: sparklines and intervals, as pure functions."""

import math

from aiwatch.pages.experiments import allowed
from aiwatch.pages.svg import intervals, sparkline
from aiwatch.pages.view import lift


def test_sparkline_scales_into_its_box_and_skips_gaps() -> None:
    """The lowest value sits at the bottom, the highest at the top; None and NaN are gaps."""
    line = sparkline([1.0, None, 3.0, math.nan, 2.0], width=100, height=20)
    assert line is not None
    points = [tuple(map(float, p.split(","))) for p in line.points.split()]
    assert [x for x, _ in points] == [0.0, 50.0, 100.0]
    assert points[0][1] == 18.0  # lowest: bottom, inside the 2 px padding
    assert points[1][1] == 2.0  # highest: top
    assert (line.low, line.high, line.last) == (1.0, 3.0, 2.0)


def test_sparkline_needs_two_points() -> None:
    """One measured point draws no line."""
    assert sparkline([None, 1.0, None]) is None
    assert sparkline([]) is None


def test_intervals_share_an_axis_that_holds_zero() -> None:
    """Both variants' intervals and the zero line are placed on one axis, in percent."""
    axis = intervals([("a", 0.1, 0.2, 0.3), ("b", -0.1, 0.0, 0.1)])
    assert axis is not None
    a, b = axis.bars
    assert 0 < axis.zero < 100
    assert b.left < axis.zero < a.left < a.mid < a.right < 100
    assert b.mid == axis.zero
    assert intervals([("x", math.nan, 0.0, 1.0)]) is None


def test_lift_is_a_percentage_when_relative() -> None:
    """Relative lifts read as percentages, absolute ones as numbers."""
    assert lift(0.125) == "+12.5%"
    assert lift(10.0) == "+1000%"
    assert lift(-0.031, "absolute") == "-0.031"


def test_only_legal_lifecycle_buttons() -> None:
    """A running experiment offers Pause and Stop; a stopped one nothing."""
    assert allowed("running") == ["pause", "stop"]
    assert allowed("paused") == ["start", "stop"]
    assert allowed("stopped") == []
