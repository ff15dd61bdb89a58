"""Go's ``math.Sin``, ``Cos`` and ``Tan`` (Cephes polynomials, Payne-Hanek for huge inputs).

Written after Go 1.19's algorithms so that results match Prometheus bit for bit; checked
against promtool, including arguments beyond 2**29 that need the long reduction.
"""

import math

from aiwatch.golang.math import float_bits, float_from_bits

_MASK = (1 << 64) - 1
_PI4 = math.pi / 4
_FOUR_OVER_PI = float("1.27323954473516268615107010698011489627567716592365158998133875")
_PI4A = 7.85398125648498535156e-1  # pi/4 in three parts for Cody-Waite reduction
_PI4B = 3.77489470793079817668e-8
_PI4C = 2.69515142907905952645e-15
_REDUCE_THRESHOLD = float(1 << 29)
_SIN = (
    1.58962301576546568060e-10,
    -2.50507477628578072866e-8,
    2.75573136213857245213e-6,
    -1.98412698295895385996e-4,
    8.33333333332211858878e-3,
    -1.66666666666666307295e-1,
)
_COS = (
    -1.13585365213876817300e-11,
    2.08757008419747316778e-9,
    -2.75573141792967388112e-7,
    2.48015872888517045348e-5,
    -1.38888888888730564116e-3,
    4.16666666666665929218e-2,
)
_TAN_P = (-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7)
_TAN_Q = (
    1.36812963470692954678e4,
    -1.32089234440210967447e6,
    2.50083801823357915839e7,
    -5.38695755929454629881e7,
)


def _four_over_pi_words(count: int = 20) -> tuple[int, ...]:
    """The binary digits of 4/pi in 64-bit words: 4/pi = sum(w[i] * 2**(-64*i))."""
    bits = 64 * (count - 1) + 64
    scale = 1 << bits

    def arctan_inv(n: int) -> int:  # arctan(1/n) * scale, by its Taylor series
        total, term, k, sign = 0, scale // n, 1, 1
        while term:
            total += sign * (term // k)
            term //= n * n
            k += 2
            sign = -sign
        return total

    pi_scaled = 4 * (4 * arctan_inv(5) - arctan_inv(239))  # Machin's formula
    value = (4 * scale * scale) // pi_scaled  # 4/pi, scaled by 2**bits
    value >>= 64  # drop the guard word
    return tuple((value >> (64 * (count - 1 - i))) & _MASK for i in range(count))


_M_PI4 = _four_over_pi_words()


def _trig_reduce(x: float) -> tuple[int, float]:
    """Payne-Hanek reduction of ``x > 0``: octant ``j`` and remainder ``z`` (times pi/4)."""
    if x < _PI4:
        return 0, x
    ix = float_bits(x)
    exp = ((ix >> 52) & 0x7FF) - 1023 - 52
    ix = (ix & ((1 << 52) - 1)) | (1 << 52)
    digit, shift = divmod(exp + 61, 64)
    m = _M_PI4

    def word(k: int) -> int:
        return ((m[k] << shift) | (m[k + 1] >> (64 - shift))) & _MASK

    z0, z1, z2 = word(digit), word(digit + 1), word(digit + 2)
    z2hi = (z2 * ix) >> 64
    z1hi, z1lo = (z1 * ix) >> 64, (z1 * ix) & _MASK
    z0lo = (z0 * ix) & _MASK
    lo_sum = z1lo + z2hi
    lo, carry = lo_sum & _MASK, lo_sum >> 64
    hi = (z0lo + z1hi + carry) & _MASK
    j = hi >> 61
    hi = ((hi << 3) | (lo >> 61)) & _MASK
    lz = 64 - hi.bit_length()
    exponent = (1023 - (lz + 1)) & _MASK
    hi = ((hi << (lz + 1)) | (lo >> (64 - (lz + 1)))) & _MASK
    hi >>= 64 - 52
    z = float_from_bits(hi | (exponent << 52))
    if j & 1:
        j = (j + 1) & 7
        z -= 1
    return j, z * _PI4


def _reduce(x: float) -> tuple[int, float]:
    """Octant and remainder of a non-negative ``x``, zeros mapped to the origin."""
    if x >= _REDUCE_THRESHOLD:
        return _trig_reduce(x)
    j = int(x * _FOUR_OVER_PI)
    y = float(j)
    if j & 1:
        j += 1
        y += 1
    z = ((x - y * _PI4A) - y * _PI4B) - y * _PI4C
    return j, z


def _sin_poly(z: float, zz: float) -> float:
    s0, s1, s2, s3, s4, s5 = _SIN
    return z + z * zz * ((((((s0 * zz) + s1) * zz + s2) * zz + s3) * zz + s4) * zz + s5)


def _cos_poly(zz: float) -> float:
    c0, c1, c2, c3, c4, c5 = _COS
    poly = (((((c0 * zz) + c1) * zz + c2) * zz + c3) * zz + c4) * zz + c5
    return 1.0 - 0.5 * zz + zz * zz * poly


def sin(x: float) -> float:
    """Go's ``math.Sin``."""
    if x == 0 or math.isnan(x):
        return x
    if math.isinf(x):
        return math.nan
    sign = x < 0
    j, z = _reduce(abs(x))
    j &= 7
    if j > 3:
        sign = not sign
        j -= 4
    zz = z * z
    y = _cos_poly(zz) if j in (1, 2) else _sin_poly(z, zz)
    return -y if sign else y


def cos(x: float) -> float:
    """Go's ``math.Cos``."""
    if math.isnan(x) or math.isinf(x):
        return math.nan
    j, z = _reduce(abs(x))
    j &= 7
    sign = False
    if j > 3:
        j -= 4
        sign = not sign
    if j > 1:
        sign = not sign
    zz = z * z
    y = _sin_poly(z, zz) if j in (1, 2) else _cos_poly(zz)
    return -y if sign else y


def tan(x: float) -> float:
    """Go's ``math.Tan``."""
    if x == 0 or math.isnan(x):
        return x
    if math.isinf(x):
        return math.nan
    sign = x < 0
    j, z = _reduce(abs(x))
    zz = z * z
    if zz > 1e-14:
        p0, p1, p2 = _TAN_P
        q1, q2, q3, q4 = _TAN_Q
        num = zz * (((p0 * zz) + p1) * zz + p2)
        y = z + z * (num / ((((zz + q1) * zz + q2) * zz + q3) * zz + q4))
    else:
        y = z
    if j & 2:
        y = -1 / y
    return -y if sign else y
