"""IEEE-754 arithmetic as Go computes it: no exceptions, NaN and ±Inf instead."""

import math

from aiwatch.golang import math as gomath
from aiwatch.golang import trig as gotrig

_INV_LN2 = float("1.442695040888963407359924681001892137426645954152985934135449406931109219181185")
_INV_LN10 = float(
    "0.434294481903251827651128918916605082294397005803666566114453783165864649208870"
)


def div(a: float, b: float) -> float:
    """``a / b`` with IEEE results for a zero divisor."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        negative = (a < 0) != (math.copysign(1.0, b) < 0)
        return -math.inf if negative else math.inf
    return a / b


def mod(a: float, b: float) -> float:
    """Go's ``math.Mod``: the remainder with the sign of ``a``."""
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan
    return math.fmod(a, b)


def power(a: float, b: float) -> float:
    """Go's ``math.Pow``."""
    return gomath.pow(a, b)


def ln(v: float) -> float:
    """Go's ``math.Log``: ``-Inf`` at zero, NaN below."""
    return gomath.log(v)


def log2(v: float) -> float:
    """Go's ``math.Log2``: exact for powers of two, ``Log(frac)/Ln2 + exp`` otherwise."""
    if math.isnan(v) or v <= 0 or math.isinf(v):
        return gomath.log(v)
    frac, exp_ = math.frexp(v)
    if frac == 0.5:
        return float(exp_ - 1)
    return gomath.log(frac) * _INV_LN2 + float(exp_)


def log10(v: float) -> float:
    """Go's ``math.Log10``: ``Log(x) * (1/Ln10)``, which is not always exact at powers of ten."""
    return gomath.log(v) * _INV_LN10


def sqrt(v: float) -> float:
    """Square root; NaN below zero."""
    if math.isnan(v) or v < 0:
        return math.nan
    return math.sqrt(v)


def exp(v: float) -> float:
    """Go's ``math.Exp``."""
    return gomath.exp(v)


def sgn(v: float) -> float:
    """-1, 1, or ``v`` itself for zero and NaN."""
    if v < 0:
        return -1.0
    if v > 0:
        return 1.0
    return v


def atan2(a: float, b: float) -> float:
    """Go's ``math.Atan2``."""
    return gotrig.atan2(a, b)


def go_round(v: float, to_nearest: float) -> float:
    """Prometheus' ``round``: ``floor(v / to_nearest + 0.5) * to_nearest`` via the inverse."""
    inverse = div(1.0, to_nearest)
    scaled = v * inverse + 0.5
    floored = math.floor(scaled) if math.isfinite(scaled) else scaled
    return div(floored, inverse)


def floor(v: float) -> float:
    """``floor`` that keeps NaN, ±Inf and the sign of zero, as Go's ``math.Floor``."""
    if v == 0 or not math.isfinite(v):
        return v
    return float(math.floor(v))


def ceil(v: float) -> float:
    """``ceil`` that keeps NaN, ±Inf and the sign of zero (``ceil(-0.5)`` is ``-0``)."""
    if v == 0 or not math.isfinite(v):
        return v
    return math.copysign(float(math.ceil(v)), v)
