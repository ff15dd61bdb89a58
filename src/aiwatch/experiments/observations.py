"""Posted observations: validated item by item into per-arm sufficient statistics.

A body is a JSON list. Each item names a ``variant`` and a ``metric`` (of ``source:
observations``) and carries either one raw value or pre-aggregated sums:

* proportion: ``{"value": 0|1|true|false}`` or ``{"n", "sum"}`` (``sum`` = successes;
  ``sum_squares``, if sent, must equal ``sum``);
* mean: ``{"value": x}`` or ``{"n", "sum", "sum_squares"}``;
* ratio: ``{"numerator": m, "denominator": d}`` for one unit, or ``{"n", "numerator_sum",
  "numerator_sum_squares", "denominator_sum", "denominator_sum_squares", "cross_sum"}``.

Nothing is accepted unless every item is valid, so a client can fix and resend the whole body.
"""

import math
from collections.abc import Mapping
from typing import Any

from aiwatch.config.model import Experiment, ExperimentMetric
from aiwatch.stats import Mean, Proportion, Ratio, SufficientStats

Arms = dict[tuple[str, str], SufficientStats]
"""``(variant, metric) -> statistics``."""

RATIO_SUMS = (
    "numerator_sum",
    "numerator_sum_squares",
    "denominator_sum",
    "denominator_sum_squares",
    "cross_sum",
)
_SHAPES: dict[str, tuple[frozenset[str], ...]] = {
    "proportion": (
        frozenset({"value"}),
        frozenset({"n", "sum"}),
        frozenset({"n", "sum", "sum_squares"}),
    ),
    "mean": (frozenset({"value"}), frozenset({"n", "sum", "sum_squares"})),
    "ratio": (frozenset({"numerator", "denominator"}), frozenset({"n", *RATIO_SUMS})),
}
MAX_N = 2**53
"""The largest count accepted: every whole number up to it is exact as a float."""
_REL = 1e-9
"""Relative slack for the consistency checks, so float round-off in a client's sums passes."""


class Invalid(ValueError):
    """The body is not acceptable; ``problems`` names each item and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse(experiment: Experiment, body: Any) -> Arms:
    """The posted body as per-arm statistics to add, or :class:`Invalid` naming every problem."""
    if not isinstance(body, list):
        raise Invalid(["body must be a JSON list of observations"])
    metrics = {m.name: m for m in experiment.metrics}
    variants = [v.name for v in experiment.variants]
    arms: Arms = {}
    problems: list[str] = []
    for i, item in enumerate(body):
        try:
            variant, metric, stats = _item(item, metrics, variants)
        except ValueError as err:
            problems.append(f"observations[{i}]: {err}")
            continue
        key = (variant, metric)
        merged = merge(arms[key], stats) if key in arms else stats
        if not _finite(merged):
            problems.append(f"observations[{i}]: {_too_large(key)}")
            continue
        arms[key] = merged
    if problems:
        raise Invalid(problems)
    return arms


def check_totals(current: Arms, delta: Arms) -> None:
    """:class:`Invalid` if adding ``delta`` would take an arm's running sums past the
    floating-point range: an infinite sum would void that arm's analysis for good."""
    check_finite(
        {
            key: merge(old, stats)
            for key, stats in delta.items()
            if (old := current.get(key)) is not None and type(old) is type(stats)
        }
    )


def check_finite(totals: Arms) -> None:
    """:class:`Invalid` naming each arm whose sums in ``totals`` are not finite."""
    problems = [_too_large(key) for key, stats in totals.items() if not _finite(stats)]
    if problems:
        raise Invalid(problems)


def _finite(stats: SufficientStats) -> bool:
    return all(math.isfinite(x) for x in stats.numbers())


def _too_large(key: tuple[str, str]) -> str:
    variant, metric = key
    return (
        f"the sums of variant {variant!r} on metric {metric!r} would become too large "
        "to hold (not finite); nothing was added"
    )


def merge(a: SufficientStats, b: SufficientStats) -> SufficientStats:
    """``a`` and ``b`` (of the same kind) as one sample."""
    if isinstance(a, Proportion) and isinstance(b, Proportion):
        return a.merge(b)
    if isinstance(a, Mean) and isinstance(b, Mean):
        return a.merge(b)
    if isinstance(a, Ratio) and isinstance(b, Ratio):
        return a.merge(b)
    msg = f"cannot merge {type(a).__name__} with {type(b).__name__}"
    raise TypeError(msg)


def _item(
    item: Any, metrics: Mapping[str, ExperimentMetric], variants: list[str]
) -> tuple[str, str, SufficientStats]:
    if not isinstance(item, dict):
        raise ValueError("must be an object with variant, metric and value (or n, sum, …)")
    variant, name = item.get("variant"), item.get("metric")
    if variant not in variants:
        what = "variant is missing" if variant is None else f"unknown variant {variant!r}"
        raise ValueError(f"{what} (variants: {', '.join(variants)})")
    metric = metrics.get(name) if isinstance(name, str) else None
    if metric is None:
        what = "metric is missing" if name is None else f"unknown metric {name!r}"
        raise ValueError(f"{what} (metrics: {', '.join(metrics)})")
    if metric.source != "observations":
        raise ValueError(
            f"metric {name!r} has source: {metric.source}; only source: observations "
            "metrics accept posted observations"
        )
    fields = frozenset(item) - {"variant", "metric"}
    shapes = _SHAPES[metric.kind]
    if fields not in shapes:
        wanted = " or ".join("{" + ", ".join(sorted(s)) + "}" for s in shapes)
        raise ValueError(
            f"a {metric.kind} observation needs {wanted}; got {{{', '.join(sorted(fields))}}}"
        )
    stats: SufficientStats
    if metric.kind == "proportion":
        stats = _proportion(item)
    elif metric.kind == "mean":
        stats = _mean(item)
    else:
        stats = _ratio(item)
    return str(variant), metric.name, stats


def _number(item: Mapping[str, Any], key: str) -> float:
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        # A JSON integer of 309 digits or more: past the float range.
        digits = len(str(abs(value)))
        raise ValueError(f"{key} must be finite, got an integer of {digits} digits") from None
    if not math.isfinite(number):
        raise ValueError(f"{key} must be finite, got {value!r}")
    return number


def _count(item: Mapping[str, Any]) -> int:
    n = _number(item, "n")
    if n < 0:
        raise ValueError(f"n must not be negative, got {item['n']!r}")
    if not n.is_integer():
        raise ValueError(f"n must be a whole number, got {item['n']!r}")
    # Compared as sent: a JSON integer just above 2**53 would round down to it as a float.
    if item["n"] > MAX_N:
        raise ValueError(f"n must be at most {MAX_N}, got {item['n']!r}")
    return int(n)


def _consistent(n: int, total: float, squares: float, *, what: str) -> None:
    """Values with this sum must have at least ``sum²/n`` as their sum of squares."""
    if squares < 0:
        raise ValueError(f"{what}sum_squares must not be negative, got {squares:g}")
    if n == 0 and (total != 0 or squares != 0):
        raise ValueError(f"with n 0 there are no values: {what}sum and {what}sum_squares must be 0")
    # One value x has exactly x² as its sum of squares; anything else is variance from nothing.
    if n == 1 and not _close(squares, total * total):
        raise ValueError(
            f"with n 1 (one value) {what}sum_squares must equal {what}sum², "
            f"{total * total:g}, got {squares:g}"
        )
    if total * total > n * squares * (1 + _REL) + _REL:
        raise ValueError(
            f"{what}sum_squares {squares:g} is inconsistent with {what}sum {total:g} and "
            f"n {n} (no real values have sum² > n·sum_squares)"
        )


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _REL * max(1.0, abs(a), abs(b))


def _proportion(item: Mapping[str, Any]) -> Proportion:
    if "value" in item:
        value = item["value"]
        if value not in (0, 1) or (not isinstance(value, bool | int | float)):
            raise ValueError(f"a proportion's value must be 0, 1, true or false, got {value!r}")
        return Proportion(n=1, successes=float(value))
    n, successes = _count(item), _number(item, "sum")
    if not successes.is_integer():
        raise ValueError(f"sum (successes) must be a whole number, got {item['sum']!r}")
    if not 0 <= successes <= n:
        raise ValueError(f"sum (successes) must lie in [0, n={n}], got {item['sum']!r}")
    if "sum_squares" in item and _number(item, "sum_squares") != successes:
        raise ValueError("a proportion's sum_squares, if sent, must equal its sum (values are 0/1)")
    return Proportion(n=n, successes=successes)


def _mean(item: Mapping[str, Any]) -> Mean:
    if "value" in item:
        x = _number(item, "value")
        if not math.isfinite(x * x):
            raise ValueError(f"value {x:g} is too large: its square is not a finite number")
        return Mean(n=1, sum=x, sum_squares=x * x)
    n, total, squares = _count(item), _number(item, "sum"), _number(item, "sum_squares")
    _consistent(n, total, squares, what="")
    return Mean(n=n, sum=total, sum_squares=squares)


def _ratio(item: Mapping[str, Any]) -> Ratio:
    if "numerator" in item:
        m, d = _number(item, "numerator"), _number(item, "denominator")
        if not all(math.isfinite(x) for x in (m * m, d * d, m * d)):
            raise ValueError(
                "numerator and denominator are too large: their squares or product are not "
                "finite numbers"
            )
        return Ratio.from_pairs([(m, d)])
    n = _count(item)
    sums = {key: _number(item, key) for key in RATIO_SUMS}
    _consistent(n, sums["numerator_sum"], sums["numerator_sum_squares"], what="numerator_")
    _consistent(n, sums["denominator_sum"], sums["denominator_sum_squares"], what="denominator_")
    cross = sums["cross_sum"]
    product = sums["numerator_sum"] * sums["denominator_sum"]
    if n == 1 and not _close(cross, product):
        raise ValueError(
            "with n 1 (one unit) cross_sum must equal numerator_sum · denominator_sum, "
            f"{product:g}, got {cross:g}"
        )
    if n == 0 and cross != 0:
        raise ValueError("with n 0 there are no units: cross_sum must be 0")
    bound = sums["numerator_sum_squares"] * sums["denominator_sum_squares"]
    if cross * cross > bound * (1 + _REL) + _REL:
        raise ValueError(
            "cross_sum is inconsistent with the sums of squares (Cauchy–Schwarz: "
            "cross_sum² ≤ numerator_sum_squares · denominator_sum_squares)"
        )
    return Ratio(n=n, **sums)
