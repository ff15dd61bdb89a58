"""Sufficient statistics: what an experiment arm has to remember about one metric.

Each arm keeps a handful of running sums instead of its raw values; every test in this package
works from them. Means and variances follow gbstats' ``models/statistics.py`` exactly, including
its conventions (a proportion's variance is ``p (1 - p)``; a ratio's variance is the delta-method
variance of ``sum(m) / sum(d)`` per unit).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Proportion:
    """``successes`` out of ``n`` trials (a probe that passed, a conversion)."""

    n: int
    successes: float

    @property
    def sum(self) -> float:
        return self.successes

    @property
    def mean(self) -> float:
        return self.successes / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        p = self.mean
        return p * (1.0 - p)

    def merge(self, other: "Proportion") -> "Proportion":
        """Both samples as one."""
        return Proportion(n=self.n + other.n, successes=self.successes + other.successes)

    def numbers(self) -> tuple[float, ...]:
        """Every number held, for validity checks."""
        return (self.n, self.successes)

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[bool]) -> "Proportion":
        """From raw outcomes (``True`` is a success)."""
        values = [bool(x) for x in outcomes]
        return cls(n=len(values), successes=float(sum(values)))


@dataclass(frozen=True, slots=True)
class Mean:
    """``n`` values summarised by their sum and sum of squares."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        # Sample variance (n - 1), computed from the sums as gbstats does.
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum * self.sum / self.n) / (self.n - 1)

    def merge(self, other: "Mean") -> "Mean":
        """Both samples as one."""
        return Mean(
            n=self.n + other.n,
            sum=self.sum + other.sum,
            sum_squares=self.sum_squares + other.sum_squares,
        )

    def numbers(self) -> tuple[float, ...]:
        """Every number held, for validity checks."""
        return (self.n, self.sum, self.sum_squares)

    @classmethod
    def from_values(cls, values: Iterable[float]) -> "Mean":
        """From raw values."""
        xs = [float(x) for x in values]
        return cls(n=len(xs), sum=math.fsum(xs), sum_squares=math.fsum(x * x for x in xs))


@dataclass(frozen=True, slots=True)
class Ratio:
    """A ratio metric ``sum(numerator) / sum(denominator)`` over ``n`` units.

    Each unit contributes a numerator ``m`` and a denominator ``d`` (cost and output tokens,
    conversions and sessions); ``cross_sum`` is the sum of ``m * d``, needed for their covariance.
    """

    n: int
    numerator_sum: float
    numerator_sum_squares: float
    denominator_sum: float
    denominator_sum_squares: float
    cross_sum: float

    @property
    def numerator(self) -> Mean:
        return Mean(self.n, self.numerator_sum, self.numerator_sum_squares)

    @property
    def denominator(self) -> Mean:
        return Mean(self.n, self.denominator_sum, self.denominator_sum_squares)

    @property
    def mean(self) -> float:
        if self.denominator_sum == 0:
            return 0.0
        return self.numerator_sum / self.denominator_sum

    @property
    def covariance(self) -> float:
        if self.n <= 1:
            return 0.0
        return (self.cross_sum - self.numerator_sum * self.denominator_sum / self.n) / (self.n - 1)

    @property
    def variance(self) -> float:
        # Delta method for m/d per unit (gbstats RatioStatistic.variance).
        m, d = self.numerator, self.denominator
        mean_d = d.mean
        if mean_d == 0 or self.n <= 1:
            return 0.0
        mean_m = m.mean
        return (
            m.variance / (mean_d * mean_d)
            - 2 * self.covariance * mean_m / (mean_d * mean_d * mean_d)
            + mean_m * mean_m * d.variance / (mean_d * mean_d * mean_d * mean_d)
        )

    def merge(self, other: "Ratio") -> "Ratio":
        """Both samples as one."""
        return Ratio(
            n=self.n + other.n,
            numerator_sum=self.numerator_sum + other.numerator_sum,
            numerator_sum_squares=self.numerator_sum_squares + other.numerator_sum_squares,
            denominator_sum=self.denominator_sum + other.denominator_sum,
            denominator_sum_squares=self.denominator_sum_squares + other.denominator_sum_squares,
            cross_sum=self.cross_sum + other.cross_sum,
        )

    def numbers(self) -> tuple[float, ...]:
        """Every number held, for validity checks."""
        return (
            self.n,
            self.numerator_sum,
            self.numerator_sum_squares,
            self.denominator_sum,
            self.denominator_sum_squares,
            self.cross_sum,
        )

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[float, float]]) -> "Ratio":
        """From raw ``(numerator, denominator)`` pairs, one per unit."""
        ps = [(float(m), float(d)) for m, d in pairs]
        return cls(
            n=len(ps),
            numerator_sum=math.fsum(m for m, _ in ps),
            numerator_sum_squares=math.fsum(m * m for m, _ in ps),
            denominator_sum=math.fsum(d for _, d in ps),
            denominator_sum_squares=math.fsum(d * d for _, d in ps),
            cross_sum=math.fsum(m * d for m, d in ps),
        )


SufficientStats = Proportion | Mean | Ratio
"""What one arm knows about one metric."""

EMPTY = Mean(n=0, sum=0.0, sum_squares=0.0)
"""The statistics of an arm that has seen nothing yet."""
