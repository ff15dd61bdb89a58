"""Functions over range vectors: ``rate``, ``increase``, ``*_over_time`` and friends.

Each takes one series' samples in the window (stale markers already removed, at least one
sample) and returns a value, or ``None`` when the series contributes no output element.
"""

import itertools
import math
from collections.abc import Callable, Sequence

from aiwatch.promql.arith import div
from aiwatch.promql.numerics import kahan_inc, quantile
from aiwatch.promql.values import PromQLError


def extrapolated_rate(
    times: Sequence[int],
    values: Sequence[float],
    *,
    range_start_ms: int,
    range_end_ms: int,
    range_s: float,
    is_counter: bool,
    is_rate: bool,
    resets: Sequence[float] | None = None,
) -> float | None:
    """``rate``/``increase``/``delta``: the change over the window, extrapolated to its edges.

    ``resets``: for a counter, the value before each reset in the window if already known
    (from the store); otherwise the samples are compared here.
    """
    if len(values) < 2:
        return None
    result = values[-1] - values[0]
    if is_counter:
        # Add the value before each reset in time order, as Prometheus does (the float sum
        # must round the same way).
        if resets is None:
            prev = values[0]
            for current in values:
                if current < prev:
                    result += prev
                prev = current
        else:
            for prev in resets:
                result += prev
    duration_to_start = (times[0] - range_start_ms) / 1000
    duration_to_end = (range_end_ms - times[-1]) / 1000
    sampled = (times[-1] - times[0]) / 1000
    average_gap = sampled / (len(values) - 1)
    if is_counter and result > 0 and values[0] >= 0:
        # A counter cannot go below zero: do not extrapolate past where it would reach zero.
        duration_to_zero = sampled * div(values[0], result)
        duration_to_start = min(duration_to_start, duration_to_zero)
    threshold = average_gap * 1.1
    interval = sampled
    interval += duration_to_start if duration_to_start < threshold else average_gap / 2
    interval += duration_to_end if duration_to_end < threshold else average_gap / 2
    factor = div(interval, sampled)
    if is_rate:
        factor = div(factor, range_s)
    return result * factor


def instant_change(times: Sequence[int], values: Sequence[float], *, is_rate: bool) -> float | None:
    """``irate``/``idelta``: from the last two samples."""
    if len(values) < 2:
        return None
    last, previous = values[-1], values[-2]
    result = last if is_rate and last < previous else last - previous
    gap = times[-1] - times[-2]
    if gap == 0:
        return None
    if is_rate:
        result = div(result, gap / 1000)
    return result


def resets(values: Sequence[float]) -> float:
    """How often the value went down."""
    return float(sum(1 for a, b in itertools.pairwise(values) if b < a))


def changes(values: Sequence[float]) -> float:
    """How often the value changed (NaN to NaN is no change)."""
    count = 0
    for a, b in itertools.pairwise(values):
        if a != b and not (math.isnan(a) and math.isnan(b)):
            count += 1
    return float(count)


def avg_over_time(values: Sequence[float]) -> float:
    """Incremental, compensated mean as Prometheus 2.42 computes it."""
    mean = c = 0.0
    count = 0.0
    for v in values:
        count += 1
        if math.isinf(mean) and (
            (math.isinf(v) and (mean > 0) == (v > 0)) or not (math.isinf(v) or math.isnan(v))
        ):
            continue
        mean, c = kahan_inc(v / count - mean / count, mean, c)
    return mean if math.isinf(mean) else mean + c


def sum_over_time(values: Sequence[float]) -> float:
    """Compensated sum."""
    total = c = 0.0
    for v in values:
        total, c = kahan_inc(v, total, c)
    return total if math.isinf(total) else total + c


def stdvar_over_time(values: Sequence[float]) -> float:
    """Population variance by Welford's method with compensated sums."""
    count = 0.0
    mean = c_mean = aux = c_aux = 0.0
    for v in values:
        count += 1
        delta = v - (mean + c_mean)
        mean, c_mean = kahan_inc(delta / count, mean, c_mean)
        aux, c_aux = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


def stddev_over_time(values: Sequence[float]) -> float:
    """Population standard deviation."""
    variance = stdvar_over_time(values)
    return math.sqrt(variance) if variance >= 0 or math.isnan(variance) else math.nan


def max_over_time(values: Sequence[float]) -> float:
    """Largest value; a leading NaN is replaced by any later value."""
    best = values[0]
    for v in values:
        if v > best or math.isnan(best):
            best = v
    return best


def min_over_time(values: Sequence[float]) -> float:
    """Smallest value; a leading NaN is replaced by any later value."""
    best = values[0]
    for v in values:
        if v < best or math.isnan(best):
            best = v
    return best


SIMPLE: dict[str, Callable[[Sequence[float]], float]] = {
    "avg_over_time": avg_over_time,
    "sum_over_time": sum_over_time,
    "min_over_time": min_over_time,
    "max_over_time": max_over_time,
    "count_over_time": lambda values: float(len(values)),
    "last_over_time": lambda values: values[-1],
    "present_over_time": lambda _values: 1.0,
    "stddev_over_time": stddev_over_time,
    "stdvar_over_time": stdvar_over_time,
    "resets": resets,
    "changes": changes,
}


def quantile_over_time(q: float, values: Sequence[float]) -> float:
    """The φ-quantile of the samples in the window."""
    return quantile(q, list(values))


def linear_regression(
    times: Sequence[int], values: Sequence[float], intercept_ms: int
) -> tuple[float, float]:
    """Least-squares slope and intercept at ``intercept_ms``, as Prometheus computes them."""
    n = sum_x = c_x = sum_y = c_y = sum_xy = c_xy = sum_x2 = c_x2 = 0.0
    init_y = values[0]
    const_y = True
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if const_y and i > 0 and v != init_y:
            const_y = False
        n += 1.0
        x = (t - intercept_ms) / 1e3
        sum_x, c_x = kahan_inc(x, sum_x, c_x)
        sum_y, c_y = kahan_inc(v, sum_y, c_y)
        sum_xy, c_xy = kahan_inc(x * v, sum_xy, c_xy)
        sum_x2, c_x2 = kahan_inc(x * x, sum_x2, c_x2)
    if const_y:
        if math.isinf(init_y):
            return math.nan, math.nan
        return 0.0, init_y
    sum_x += c_x
    sum_y += c_y
    sum_xy += c_xy
    sum_x2 += c_x2
    cov_xy = sum_xy - sum_x * sum_y / n
    var_x = sum_x2 - sum_x * sum_x / n
    slope = div(cov_xy, var_x)
    return slope, sum_y / n - slope * sum_x / n


def holt_winters(values: Sequence[float], sf: float, tf: float) -> float | None:
    """Double exponential smoothing with smoothing factor ``sf`` and trend factor ``tf``."""
    if not 0 < sf < 1:
        msg = f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:f}"
        raise PromQLError(msg)
    if not 0 < tf < 1:
        msg = f"invalid trend factor. Expected: 0 < tf < 1, got: {tf:f}"
        raise PromQLError(msg)
    if len(values) < 2:
        return None
    s0, s1 = 0.0, values[0]
    trend = values[1] - values[0]
    for i in range(1, len(values)):
        scaled = sf * values[i]
        if i > 1:  # the first trend is the initial difference itself
            trend = tf * (s1 - s0) + (1 - tf) * trend
        s0, s1 = s1, scaled + (1 - sf) * (s1 + trend)
    return s1
