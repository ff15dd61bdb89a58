"""Go's inverse-trigonometric and hyperbolic functions, as Prometheus (Go 1.19) computes them.

Like ``golang.math``, these follow Go's algorithms step by step (Cephes and FreeBSD msun
based) so that results agree with Prometheus bit for bit; each was checked against promtool.
"""

import math

from aiwatch.golang.math import exp, float_bits, float_from_bits, log

_ATAN_P = (
    -8.750608600031904122785e-01,
    -1.615753718733365076637e01,
    -7.500855792314704667340e01,
    -1.228866684490136173410e02,
    -6.485021904942025371773e01,
)
_ATAN_Q = (
    2.485846490142306297962e01,
    1.650270098316988542046e02,
    4.328810604912902668951e02,
    4.853903996359136964868e02,
    1.945506571482613964425e02,
)
_MOREBITS = 6.123233995736765886130e-17  # pi/2 minus its float64 value
_TAN_3PI_8 = 2.41421356237309504880
_THREE_PI_4 = float("2.35619449019234492884698253745962716314787704953132936573120844")


def _xatan(x: float) -> float:
    """The Cephes rational approximation of atan on [0, 0.66]."""
    p0, p1, p2, p3, p4 = _ATAN_P
    q0, q1, q2, q3, q4 = _ATAN_Q
    z = x * x
    z = (
        z
        * ((((p0 * z + p1) * z + p2) * z + p3) * z + p4)
        / (((((z + q0) * z + q1) * z + q2) * z + q3) * z + q4)
    )
    return x * z + x


def _satan(x: float) -> float:
    """atan of a positive argument, reduced into [0, 0.66]."""
    if x <= 0.66:
        return _xatan(x)
    if x > _TAN_3PI_8:
        return math.pi / 2 - _xatan(1 / x) + _MOREBITS
    return math.pi / 4 + _xatan((x - 1) / (x + 1)) + 0.5 * _MOREBITS


def atan(x: float) -> float:
    """Go's ``math.Atan``."""
    if x == 0 or math.isnan(x):
        return x
    return _satan(x) if x > 0 else -_satan(-x)


def atan2(y: float, x: float) -> float:
    """Go's ``math.Atan2`` with its special cases, in their order."""
    if math.isnan(y) or math.isnan(x):
        return math.nan
    if y == 0:
        if x >= 0 and math.copysign(1.0, x) > 0:
            return math.copysign(0.0, y)
        return math.copysign(math.pi, y)
    if x == 0:
        return math.copysign(math.pi / 2, y)
    if math.isinf(x):
        if x > 0:
            return math.copysign(math.pi / 4 if math.isinf(y) else 0.0, y)
        return math.copysign(_THREE_PI_4 if math.isinf(y) else math.pi, y)
    if math.isinf(y):
        return math.copysign(math.pi / 2, y)
    q = atan(y / x)
    if x < 0:
        return q + math.pi if q <= 0 else q - math.pi
    return q


def asin(x: float) -> float:
    """Go's ``math.Asin``, by way of its arctangent."""
    if x == 0 or math.isnan(x):
        return x
    sign = x < 0
    x = abs(x)
    if x > 1:
        return math.nan
    temp = math.sqrt(1 - x * x)
    temp = math.pi / 2 - _satan(temp / x) if x > 0.7 else _satan(x / temp)
    return -temp if sign else temp


def acos(x: float) -> float:
    """Go's ``math.Acos``: pi/2 minus the arcsine."""
    return math.pi / 2 - asin(x)


_SINH_P = (
    -0.6307673640497716991184787251e6,
    -0.8991272022039509355398013511e5,
    -0.2894211355989563807284660366e4,
    -0.2630563213397497062819489e2,
)
_SINH_Q = (
    -0.6307673640497716991212077277e6,
    0.1521517378790019070696485176e5,
    -0.173678953558233699533450911e3,
)


def sinh(x: float) -> float:
    """Go 1.19's ``math.Sinh``: a rational series near zero, ``(e - 1/e) / 2`` elsewhere."""
    sign = x < 0
    x = abs(x)
    if x > 21:
        temp = exp(x) * 0.5
    elif x > 0.5:
        ex = exp(x)
        temp = (ex - 1 / ex) * 0.5
    else:
        p0, p1, p2, p3 = _SINH_P
        q0, q1, q2 = _SINH_Q
        sq = x * x
        temp = (((p3 * sq + p2) * sq + p1) * sq + p0) * x
        temp = temp / (((sq + q2) * sq + q1) * sq + q0)
    return -temp if sign else temp


def cosh(x: float) -> float:
    """Go 1.19's ``math.Cosh``: ``(e + 1/e) / 2``."""
    x = abs(x)
    if x > 21:
        return exp(x) * 0.5
    ex = exp(x)
    return (ex + 1 / ex) * 0.5


_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
_MAXLOG = 8.8029691931113054295988e01


def tanh(x: float) -> float:
    """Go's ``math.Tanh``: Cody and Waite's rational form near zero."""
    z = abs(x)
    if z > 0.5 * _MAXLOG:
        return -1.0 if x < 0 else 1.0
    if z >= 0.625:
        s = exp(2 * z)
        z = 1 - 2 / (s + 1)
        return -z if x < 0 else z
    if x == 0 or math.isnan(x):
        return x
    p0, p1, p2 = _TANH_P
    q0, q1, q2 = _TANH_Q
    s = x * x
    return x + x * s * ((p0 * s + p1) * s + p2) / (((s + q0) * s + q1) * s + q2)


_LN2 = 6.93147180559945286227e-01
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LOG1P_COEFFS = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_SQRT2_M1 = 4.142135623730950488017e-01
_SQRT2_HALF_M1 = -2.928932188134524755992e-01


def _log1p_reduce(x: float) -> tuple[int, float, int, float]:
    """``k``, ``f``, mantissa bits and correction ``c`` with ``1+x = 2**k * (1+f)``."""
    u = 1.0 + x if abs(x) < 2.0**53 else x
    iu = float_bits(u)
    k = (iu >> 52) - 1023
    c = 0.0
    if abs(x) < 2.0**53:
        c = (1.0 - (u - x) if k > 0 else x - (u - 1.0)) / u
    iu &= 0x000FFFFFFFFFFFFF
    if iu < 0x0006A09E667F3BCD:
        u = float_from_bits(iu | 0x3FF0000000000000)
    else:
        k += 1
        u = float_from_bits(iu | 0x3FE0000000000000)
        iu = (0x0010000000000000 - iu) >> 2
    return k, u - 1.0, iu, c


def log1p(x: float) -> float:
    """Go's ``math.Log1p``: ``log(1 + x)`` accurate near zero."""
    if x < -1 or math.isnan(x):
        return math.nan
    if x == -1:
        return -math.inf
    if x == math.inf:
        return math.inf
    absx = abs(x)
    if absx < 2.0**-29:
        return x if absx < 2.0**-54 else x - x * x * 0.5
    if _SQRT2_HALF_M1 < x < _SQRT2_M1:
        k, f, iu, c = 0, x, 1, 0.0
    else:
        k, f, iu, c = _log1p_reduce(x)
    hfsq = 0.5 * f * f
    if iu == 0:  # |f| < 2**-20
        if f == 0:
            return 0.0 if k == 0 else k * _LN2_HI + (c + k * _LN2_LO)
        r = hfsq * (1.0 - 0.66666666666666666 * f)
        return f - r if k == 0 else k * _LN2_HI - ((r - (k * _LN2_LO + c)) - f)
    s = f / (2.0 + f)
    z = s * s
    l1, l2, l3, l4, l5, l6, l7 = _LOG1P_COEFFS
    r = z * (l1 + z * (l2 + z * (l3 + z * (l4 + z * (l5 + z * (l6 + z * l7))))))
    if k == 0:
        return f - (hfsq - s * (hfsq + r))
    return k * _LN2_HI - ((hfsq - (s * (hfsq + r) + (k * _LN2_LO + c))) - f)


def asinh(x: float) -> float:
    """Go's ``math.Asinh``."""
    if math.isnan(x) or math.isinf(x):
        return x
    sign = x < 0
    x = abs(x)
    if x > 2.0**28:
        temp = log(x) + _LN2
    elif x > 2:
        temp = log(2 * x + 1 / (math.sqrt(x * x + 1) + x))
    elif x < 2.0**-28:
        temp = x
    else:
        temp = log1p(x + x * x / (1 + math.sqrt(1 + x * x)))
    return -temp if sign else temp


def acosh(x: float) -> float:
    """Go's ``math.Acosh``."""
    if x < 1 or math.isnan(x):
        return math.nan
    if x == 1:
        return 0.0
    if x >= 2.0**28:
        return log(x) + _LN2
    if x > 2:
        return log(2 * x - 1 / (x + math.sqrt(x * x - 1)))
    t = x - 1
    return log1p(t + math.sqrt(2 * t + t * t))


def atanh(x: float) -> float:
    """Go's ``math.Atanh``."""
    if x < -1 or x > 1 or math.isnan(x):
        return math.nan
    if x in (1.0, -1.0):
        return math.copysign(math.inf, x)
    sign = x < 0
    x = abs(x)
    if x < 2.0**-28:
        temp = x
    elif x < 0.5:
        temp = x + x
        temp = 0.5 * log1p(temp + temp * x / (1 - x))
    else:
        temp = 0.5 * log1p((x + x) / (1 - x))
    return -temp if sign else temp
