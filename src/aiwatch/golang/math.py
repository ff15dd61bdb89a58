"""Go's ``math.Exp``, ``math.Log`` and ``math.Pow`` as Prometheus (Go 1.19, amd64) computes them.

The C library's ``exp``/``log``/``pow`` can differ from Go's in the last bit, and a last-bit
difference becomes visible after ``%``, ``floor`` or ``==``. These follow Go's algorithms
step by step (written afresh from their published descriptions), so results are bit for bit
those of a Prometheus on the same kind of machine. Go picks a fused multiply-add variant of
``Exp`` on CPUs with AVX2 and FMA; so does this module.
"""

import math
import struct
from pathlib import Path

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_HALF_SQRT2 = 7.07106781186547524401e-01
_LOG_COEFFS = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_LOG2E = 1.4426950408889634073599246810018920
_LN2_UPPER = 0.69314718055966295651160180568695068359375
_LN2_LOWER = 0.28235290563031577122588448175013436025525412068e-12
_EXP_OVERFLOW = 7.09782712893384e02
# Taylor coefficients 1/8! ... 1/3!, then 1/2 and 1, in evaluation order.
_EXP_COEFFS = (
    2.4801587301587301587e-5,
    1.9841269841269841270e-4,
    1.3888888888888888889e-3,
    8.3333333333333333333e-3,
    4.1666666666666666667e-2,
    1.6666666666666666667e-1,
    0.5,
    1.0,
)


def _has_fma() -> bool:
    """Whether the CPU has AVX2 and FMA, the condition for Go's fused ``Exp``."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # every x86-64 server CPU of the last decade has both
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return {"avx2", "fma"} <= flags
    return True


USE_FMA = _has_fma()


def _fma(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once, like the FMA instruction."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    an, ad = a.as_integer_ratio()
    bn, bd = b.as_integer_ratio()
    cn, cd = c.as_integer_ratio()
    # Exact rational arithmetic; integer true division rounds correctly, as FMA does.
    try:
        result = (an * bn * cd + cn * ad * bd) / (ad * bd * cd)
    except OverflowError:
        return a * b + c
    return result if result != 0 else a * b + c  # keep the IEEE sign of an exact zero


def float_bits(x: float) -> int:
    """The IEEE-754 bit pattern of ``x`` (Go's ``math.Float64bits``)."""
    return int(struct.unpack("<Q", struct.pack("<d", x))[0])


def float_from_bits(b: int) -> float:
    """The float with bit pattern ``b`` (Go's ``math.Float64frombits``)."""
    return float(struct.unpack("<d", struct.pack("<Q", b & 0xFFFFFFFFFFFFFFFF))[0])


def log(x: float) -> float:
    """Natural logarithm, reduced and evaluated as Go's amd64 ``Log``."""
    bits = float_bits(x)
    if bits & ~(1 << 63) == 0:
        return -math.inf
    if bits >> 63:
        return math.nan
    if bits >= 0x7FF0000000000000:
        return x  # +Inf or NaN
    f1 = float_from_bits((bits & 0x000FFFFFFFFFFFFF) | float_bits(0.5))
    k = float(((bits >> 52) & 0x7FF) - 0x3FE)
    if f1 < _HALF_SQRT2:
        k -= 1.0
        f1 *= 2.0
    f = f1 - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    s4 = s2 * s2
    l1, l2, l3, l4, l5, l6, l7 = _LOG_COEFFS
    t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)))
    t2 = s4 * (l2 + s4 * (l4 + s4 * l6))
    r = t1 + t2
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + k * _LN2_LO)) - f)


def exp(x: float, *, fused: bool = USE_FMA) -> float:
    """``e**x`` as Go's amd64 ``Exp``: range reduction, Taylor series, repeated squaring.

    ``fused`` selects the variant Go uses on CPUs with fused multiply-add.
    """
    if math.isnan(x) or x == math.inf:
        return x
    if x == -math.inf:
        return 0.0
    if x > _EXP_OVERFLOW:
        return math.inf
    scaled = _LOG2E * x
    if not -(2.0**31) <= scaled < 2.0**31:
        return 0.0  # the int32 conversion saturates; far below the underflow point
    exponent = round(scaled)  # CVTSD2SL rounds half to even, as round() does
    k = float(exponent)
    if fused:
        r = _fma(-k, _LN2_UPPER, x)
        r = _fma(-k, _LN2_LOWER, r)
    else:
        r = x - _LN2_UPPER * k
        r = r - _LN2_LOWER * k
    r *= 0.0625
    p = _EXP_COEFFS[0]
    for coeff in _EXP_COEFFS[1:]:
        p = _fma(p, r, coeff) if fused else p * r + coeff
    r *= p
    for _ in range(3):
        r *= 2.0 + r
    r = _fma(r, 2.0 + r, 1.0) if fused else r * (2.0 + r) + 1.0
    biased = exponent + 0x3FF
    if biased <= 0:
        if biased < -52:
            return 0.0
        # Scale in two steps so that only the last multiplication rounds to a subnormal.
        return (r * float_from_bits((biased + 0x3FE) << 52)) * float_from_bits(1 << 52)
    if biased >= 0x7FF:
        return math.inf
    return r * float_from_bits(biased << 52)


def _is_odd_int(y: float) -> bool:
    frac, whole = math.modf(y)
    return frac == 0 and abs(whole) < 2.0**63 and int(whole) & 1 == 1


def _pow_special(x: float, y: float) -> float | None:
    """Go's special cases of ``Pow``, or ``None`` when the general method applies."""
    if y == 0 or x == 1:
        return 1.0
    if y == 1:
        return x
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0:
        if y < 0:
            return math.copysign(math.inf, x) if _is_odd_int(y) else math.inf
        return x if _is_odd_int(y) else 0.0
    if math.isinf(y):
        if x == -1:
            return 1.0
        return 0.0 if (abs(x) < 1) == (y > 0) else math.inf
    if math.isinf(x):
        if x < 0:
            return pow(-0.0, -y)
        return 0.0 if y < 0 else math.inf
    if y == 0.5:
        return math.sqrt(x) if x >= 0 else math.nan
    if y == -0.5:
        return 1 / math.sqrt(x) if x > 0 else math.nan
    return None


def pow(x: float, y: float) -> float:
    """``x**y`` as Go 1.19's ``Pow``: exact squaring for the integer part of ``y``."""
    special = _pow_special(x, y)
    if special is not None:
        return special
    frac, whole = math.modf(abs(y))
    if frac != 0 and x < 0:
        return math.nan
    if whole >= 2.0**63:
        if x == -1:
            return 1.0
        return 0.0 if (abs(x) < 1) == (y > 0) else math.inf
    mantissa, exponent = 1.0, 0
    if frac != 0:
        if frac > 0.5:
            frac -= 1
            whole += 1
        mantissa = exp(frac * log(x))
    x1, xe = math.frexp(x)
    i = int(whole)
    while i != 0:
        if xe < -(1 << 12) or xe > (1 << 12):
            exponent += xe  # bound to under- or overflow: stop squaring
            break
        if i & 1:
            mantissa *= x1
            exponent += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    if y < 0:
        mantissa = 1 / mantissa
        exponent = -exponent
    return _ldexp(mantissa, exponent)


def _ldexp(m: float, e: int) -> float:
    try:
        return math.ldexp(m, e)
    except OverflowError:
        return math.copysign(math.inf, m)
