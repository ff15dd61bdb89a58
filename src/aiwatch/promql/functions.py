"""Functions over instant vectors: math, clamping, labels, dates, ``histogram_quantile``."""

import functools
import math
from collections.abc import Callable

from aiwatch.golang import sin as gosin
from aiwatch.golang import trig as gotrig
from aiwatch.golang.regexp import compile_anchored
from aiwatch.golang.strconv import parse_float_or_none
from aiwatch.promql import arith
from aiwatch.promql.aggregations import valid_label_name
from aiwatch.promql.numerics import bucket_quantile
from aiwatch.promql.pacing import EVERY, give_way
from aiwatch.promql.storage import Labels
from aiwatch.promql.values import NAME, InstantVec, PromQLError, drop_name, with_label

ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "ceil": arith.ceil,
    "floor": arith.floor,
    "exp": arith.exp,
    "sqrt": arith.sqrt,
    "ln": arith.ln,
    "log2": arith.log2,
    "log10": arith.log10,
    "sgn": arith.sgn,
    "atan": gotrig.atan,
    "asin": gotrig.asin,
    "acos": gotrig.acos,
    "sinh": gotrig.sinh,
    "cosh": gotrig.cosh,
    "tanh": gotrig.tanh,
    "asinh": gotrig.asinh,
    "acosh": gotrig.acosh,
    "atanh": gotrig.atanh,
    "sin": gosin.sin,
    "cos": gosin.cos,
    "tan": gosin.tan,
}


def elementwise(fn: Callable[[float], float], vec: InstantVec) -> InstantVec:
    """Apply ``fn`` to every value; the metric name is dropped."""
    return [(drop_name(labels), fn(v)) for labels, v in vec]


def clamp(vec: InstantVec, low: float, high: float) -> InstantVec:
    """Values limited to ``[low, high]``; nothing at all when ``high < low``."""
    if high < low:
        return []
    return [(drop_name(labels), _go_max(low, _go_min(high, v))) for labels, v in vec]


def clamp_min(vec: InstantVec, low: float) -> InstantVec:
    """Values no lower than ``low``."""
    return [(drop_name(labels), _go_max(low, v)) for labels, v in vec]


def clamp_max(vec: InstantVec, high: float) -> InstantVec:
    """Values no higher than ``high``."""
    return [(drop_name(labels), _go_min(high, v)) for labels, v in vec]


def _go_max(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _go_min(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return min(a, b)


def round_to(vec: InstantVec, to_nearest: float) -> InstantVec:
    """Values rounded to the nearest multiple of ``to_nearest``, ties upwards."""
    return [(drop_name(labels), arith.go_round(v, to_nearest)) for labels, v in vec]


def absent_labels(matchers: list[tuple[str, str, str]]) -> Labels:
    """Labels ``absent()`` gives its element: the equality matchers, each name only once."""
    result: dict[str, str] = {}
    seen: set[str] = set()
    for name, op, value in matchers:
        if name == NAME:
            continue
        if op == "=" and name not in seen:
            result[name] = value
            seen.add(name)
        else:
            result.pop(name, None)
    return tuple(sorted((k, v) for k, v in result.items() if v != ""))


def sort_vector(vec: InstantVec, *, descending: bool) -> InstantVec:
    """Elements ordered by value, NaN last."""
    finite = [e for e in vec if not math.isnan(e[1])]
    nans = [e for e in vec if math.isnan(e[1])]
    return sorted(finite, key=lambda e: e[1], reverse=descending) + nans


@functools.lru_cache(maxsize=1024)
def _bucket_bound(le: str) -> float | None:
    """An ``le`` label's bound (a bucket set has a few, seen again in every series)."""
    return parse_float_or_none(le)


def histogram_quantile(q: float, vec: InstantVec) -> InstantVec:
    """The φ-quantile from classic ``le`` buckets, one result per bucket set."""
    groups: dict[Labels, tuple[Labels, list[tuple[float, float]]]] = {}
    for n, (labels, v) in enumerate(vec):
        if not n % EVERY:
            give_way()
        le = None
        rest = []
        for pair in labels:
            if pair[0] == "le":
                le = pair[1]
            else:
                rest.append(pair)
        bound = _bucket_bound(le) if le is not None else None
        if bound is None:
            continue
        key = tuple(rest)
        group = groups.get(key)
        if group is None:
            group = groups[key] = (drop_name(key), [])
        group[1].append((bound, v))
    return [(out, bucket_quantile(q, buckets)) for out, buckets in groups.values() if buckets]


def label_replace(vec: InstantVec, dst: str, replacement: str, src: str, regex: str) -> InstantVec:
    """Set ``dst`` from ``replacement`` when ``src`` fully matches ``regex``."""
    try:
        pattern = compile_anchored(regex)
    except ValueError as err:
        msg = f"label_replace(): invalid regular expression: {err}"
        raise PromQLError(msg) from None
    if not valid_label_name(dst):
        msg = f"invalid destination label name in label_replace(): {dst}"
        raise PromQLError(msg)
    out: InstantVec = []
    for labels, v in vec:
        match = pattern.search(dict(labels).get(src, ""))
        if match is None:
            out.append((labels, v))
            continue
        out.append((with_label(labels, dst, pattern.expand(replacement, match)), v))
    return out


def label_join(vec: InstantVec, dst: str, separator: str, sources: list[str]) -> InstantVec:
    """Set ``dst`` to the ``sources`` label values joined by ``separator``."""
    for name in sources:
        if not _valid_utf8_label(name):
            msg = f"invalid source label name in label_join(): {name}"
            raise PromQLError(msg)
    if not _valid_utf8_label(dst):
        msg = f"invalid destination label name in label_join(): {dst}"
        raise PromQLError(msg)
    out: InstantVec = []
    for labels, v in vec:
        values = dict(labels)
        joined = separator.join(values.get(name, "") for name in sources)
        out.append((with_label(labels, dst, joined), v))
    return out


def _valid_utf8_label(name: str) -> bool:
    # model.LabelName.IsValid in Prometheus 2.42: the legacy character set.
    return valid_label_name(name)


def scalar_of(vec: InstantVec) -> float:
    """The single element's value, or NaN unless there is exactly one."""
    return vec[0][1] if len(vec) == 1 else math.nan


DATE_FUNCTIONS = frozenset(
    {
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    }
)


_UNIX_TO_ABSOLUTE = 62135596800 + 9223371966579724800
_ABSOLUTE_ZERO_YEAR = -292277022399
_DAYS_PER_400_YEARS = 365 * 400 + 97
_DAYS_PER_100_YEARS = 365 * 100 + 24
_DAYS_PER_4_YEARS = 365 * 4 + 1
_DAYS_BEFORE = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365)


def _go_int64(v: float) -> int:
    """Go's ``int64(v)`` on amd64: truncation, and the minimum for NaN and out-of-range."""
    if math.isnan(v) or not -(2.0**63) <= v < 2.0**63:
        return -(2**63)
    return int(v)


def date_part(name: str, seconds: float) -> float:
    """One calendar field of a Unix time in UTC, exactly as Go's ``time`` package gives it.

    Go counts seconds from an "absolute" epoch in an unsigned 64-bit integer, so even NaN
    or huge inputs yield a (meaningless but definite) date; this reproduces that.
    """
    absolute = (_go_int64(seconds) + _UNIX_TO_ABSOLUTE) % 2**64
    if name == "hour":
        return float(absolute % 86400 // 3600)
    if name == "minute":
        return float(absolute % 3600 // 60)
    if name == "day_of_week":
        return float((absolute + 86400) % 604800 // 86400)
    year, month, day, yday = _absolute_date(absolute // 86400)
    if name == "year":
        return float(year)
    if name == "month":
        return float(month)
    if name == "day_of_month":
        return float(day)
    if name == "day_of_year":
        return float(yday + 1)
    assert name == "days_in_month", name
    return float(_days_in_month(year, month))


def _absolute_date(d: int) -> tuple[int, int, int, int]:
    """Year, month, day and zero-based day of year of day ``d`` after the absolute epoch."""
    n = d // _DAYS_PER_400_YEARS
    y = 400 * n
    d -= _DAYS_PER_400_YEARS * n
    n = d // _DAYS_PER_100_YEARS
    n -= n >> 2
    y += 100 * n
    d -= _DAYS_PER_100_YEARS * n
    n = d // _DAYS_PER_4_YEARS
    y += 4 * n
    d -= _DAYS_PER_4_YEARS * n
    n = d // 365
    n -= n >> 2
    y += n
    d -= 365 * n
    year = y + _ABSOLUTE_ZERO_YEAR
    yday = day = d
    if _is_leap(year):
        if day > 31 + 29 - 1:
            day -= 1
        elif day == 31 + 29 - 1:
            return year, 2, 29, yday
    month = day // 31
    end = _DAYS_BEFORE[month + 1]
    if day >= end:
        month += 1
        begin = end
    else:
        begin = _DAYS_BEFORE[month]
    return year, month + 1, day - begin + 1, yday


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31
