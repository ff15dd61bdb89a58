"""Functions over instant vectors: math, clamping, labels, dates, ``histogram_quantile``."""

import math
import re
from collections.abc import Callable

from aiwatch.promql import arith
from aiwatch.promql.aggregations import valid_label_name
from aiwatch.promql.numerics import bucket_quantile, parse_go_float
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


def histogram_quantile(q: float, vec: InstantVec) -> InstantVec:
    """The φ-quantile from classic ``le`` buckets, one result per bucket set."""
    groups: dict[Labels, tuple[Labels, list[tuple[float, float]]]] = {}
    for labels, v in vec:
        le = dict(labels).get("le")
        bound = parse_go_float(le) if le is not None else None
        if bound is None:
            continue
        key = tuple(p for p in labels if p[0] != "le")
        if key not in groups:
            out_labels = tuple(p for p in key if p[0] != NAME)
            groups[key] = (out_labels, [])
        groups[key][1].append((bound, v))
    return [(out, bucket_quantile(q, buckets)) for out, buckets in groups.values() if buckets]


def label_replace(vec: InstantVec, dst: str, replacement: str, src: str, regex: str) -> InstantVec:
    """Set ``dst`` from ``replacement`` when ``src`` fully matches ``regex``."""
    try:
        pattern = re.compile(f"(?:{regex})")
    except re.error:
        msg = f"invalid regular expression in label_replace(): {regex}"
        raise PromQLError(msg) from None
    if not valid_label_name(dst):
        msg = f"invalid destination label name in label_replace(): {dst}"
        raise PromQLError(msg)
    out: InstantVec = []
    for labels, v in vec:
        match = pattern.fullmatch(dict(labels).get(src, ""))
        if match is None:
            out.append((labels, v))
            continue
        out.append((with_label(labels, dst, expand_template(replacement, match)), v))
    return out


_TEMPLATE_REF = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z0-9_]+)|\$)")


def expand_template(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``$$``; unknown names are empty."""

    def replace(ref: re.Match[str]) -> str:
        if ref.group(0) == "$$":
            return "$"
        name = ref.group(1) if ref.group(1) is not None else ref.group(2)
        if ref.group(1) is not None and not re.fullmatch(r"[A-Za-z0-9_]+", name):
            return ref.group(0)
        if name.isdigit() and (name == "0" or not name.startswith("0")):
            index = int(name)
            if index > (match.re.groups or 0):
                return ""
            return match.group(index) or ""
        try:
            return match.group(name) or ""
        except IndexError:
            return ""

    return _TEMPLATE_REF.sub(replace, template)


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


def date_part(name: str, seconds: float) -> float:
    """One calendar field of a Unix time in UTC, as Go's ``time`` package computes it."""
    if not math.isfinite(seconds) or abs(seconds) >= 2.0**62:
        msg = f"{name}() of {seconds!r} is not supported"
        raise PromQLError(msg)
    whole = int(seconds)  # Go converts with truncation toward zero
    days, secs = divmod(whole, 86400)
    year, month, day = _civil_from_days(days)
    if name == "minute":
        return float(secs % 3600 // 60)
    if name == "hour":
        return float(secs // 3600)
    if name == "day_of_week":
        return float((days + 4) % 7)
    if name == "day_of_month":
        return float(day)
    if name == "month":
        return float(month)
    if name == "year":
        return float(year)
    if name == "days_in_month":
        return float(_days_in_month(year, month))
    return float(days - _days_from_civil(year, 1, 1) + 1)  # day_of_year


def _civil_from_days(z: int) -> tuple[int, int, int]:
    # Howard Hinnant's algorithm; exact for any integer day count.
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31
