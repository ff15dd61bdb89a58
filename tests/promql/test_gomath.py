"""Go's floating-point math: bit-for-bit the values promtool 2.42 printed for these inputs."""

import math

import pytest

from aiwatch.golang import math as gomath
from aiwatch.golang import sin as gosin
from aiwatch.golang import trig as gotrig

# (input, value promtool 2.42 returned on an AVX2+FMA machine), where the C library differs.
EXP_FUSED = [
    (17.579, 4.309855380057546e07),
    (-27.487, 1.1549084952327056e-12),
    (-3.568, 2.8212221736927976e-02),
]
LOG = [(20.972, 3.0431882147102867), (14.035, 2.6415542098138456), (88.027, 4.477643585600951)]
CUBE = [(19.84, 7.809531904e03), (7.67, 4.5121766299999996e02)]


@pytest.mark.parametrize(("x", "expected"), EXP_FUSED)
def test_exp_matches_go_on_fma_machines(x: float, expected: float) -> None:
    """The fused variant reproduces Go's Exp where libm's exp differs in the last bit."""
    assert gomath.exp(x, fused=True) == expected
    assert math.exp(x) != expected


def test_exp_unfused_variant_stays_within_two_ulps() -> None:
    """The variant for CPUs without FMA is at most two units in the last place from libm."""
    for i in range(-7000, 7000, 37):
        x = i / 10
        assert abs(gomath.exp(x, fused=False) - math.exp(x)) <= 2 * math.ulp(math.exp(x))


def test_exp_edges() -> None:
    """Overflow is +Inf, deep underflow 0, the subnormal range scaled as Go does."""
    assert gomath.exp(710.0) == math.inf
    assert gomath.exp(-math.inf) == 0.0
    assert math.isnan(gomath.exp(math.nan))
    assert gomath.exp(-740.0, fused=True) == 4.2e-322
    assert gomath.exp(-2000.0) == 0.0


@pytest.mark.parametrize(("x", "expected"), LOG)
def test_log_matches_go(x: float, expected: float) -> None:
    """Go's Log, where libm's log differs in the last bit."""
    assert gomath.log(x) == expected
    assert math.log(x) != expected


def test_log_special_values() -> None:
    """log(0) = -Inf, log(negative) = NaN, log(+Inf) = +Inf."""
    assert gomath.log(0.0) == -math.inf
    assert gomath.log(-0.0) == -math.inf
    assert math.isnan(gomath.log(-1.0))
    assert gomath.log(math.inf) == math.inf


@pytest.mark.parametrize(("x", "expected"), CUBE)
def test_integer_powers_use_repeated_squaring(x: float, expected: float) -> None:
    """x ^ 3 multiplies normalised mantissas as Go does, unlike C's correctly rounded pow."""
    assert gomath.pow(x, 3.0) == expected
    assert x**3 != expected


def test_pow_special_cases() -> None:
    """Go's documented special cases of Pow."""
    assert gomath.pow(math.nan, 0.0) == 1.0
    assert gomath.pow(1.0, math.nan) == 1.0
    assert gomath.pow(-0.0, -3.0) == -math.inf
    assert gomath.pow(0.0, -2.0) == math.inf
    assert math.isnan(gomath.pow(-8.0, 1 / 3))
    assert gomath.pow(-1.0, math.inf) == 1.0
    assert gomath.pow(0.5, math.inf) == 0.0
    assert gomath.pow(-math.inf, 3.0) == -math.inf
    assert gomath.pow(10.0, 400.0) == math.inf


@pytest.mark.parametrize(
    ("x", "expected"), [(-14.296, -1.5009604434951695), (-19.566, -1.5197316917199717)]
)
def test_atan_matches_go(x: float, expected: float) -> None:
    """Go's Cephes-based Atan, where libm's atan differs in the last bit."""
    assert gotrig.atan(x) == expected
    assert math.atan(x) != expected


@pytest.mark.parametrize(
    ("y", "x", "expected"),
    [(-2.398, -13.509, -2.9659113646674804), (16.239, -17.647, 2.3977216854314376)],
)
def test_atan2_matches_go(y: float, x: float, expected: float) -> None:
    """Go's Atan2 quadrant handling on top of its Atan."""
    assert gotrig.atan2(y, x) == expected
    assert math.atan2(y, x) != expected


def test_atan2_special_cases() -> None:
    """Signed zeros and infinities follow Go's documented special cases."""
    assert math.copysign(1.0, gotrig.atan2(-0.0, 1.0)) < 0
    assert gotrig.atan2(0.0, -1.0) == math.pi
    assert gotrig.atan2(-math.inf, -math.inf) == -3 * math.pi / 4
    assert gotrig.atan2(5.0, math.inf) == 0.0
    assert gotrig.atan2(1.0, 0.0) == math.pi / 2


@pytest.mark.parametrize(
    ("func", "x", "expected"),
    [
        ("sinh", 1.1603, 1.4387491252632827),
        ("sinh", 0.59, 0.624830565331675),
        ("cosh", 0.4554, 1.1054991090040045),
        ("cosh", -0.0404, 1.0008161910038),
    ],
)
def test_hyperbolic_functions_use_go_1_19_formulas(func: str, x: float, expected: float) -> None:
    """Go 1.19 computes sinh/cosh as (e ± 1/e)/2 with one exp call; promtool's values."""
    assert getattr(gotrig, func)(x) == expected


def test_inverse_trig_edges() -> None:
    """asin/acos of out-of-range input is NaN; tanh saturates at ±1."""
    assert math.isnan(gotrig.asin(1.5))
    assert gotrig.acos(1.0) == 0.0
    assert gotrig.tanh(-100.0) == -1.0
    assert gotrig.sinh(-0.0) == 0.0


def test_inverse_hyperbolic_functions_special_values() -> None:
    """Domains and infinities as Go documents them; log1p exact near zero."""
    assert gotrig.atanh(1.0) == math.inf
    assert math.isnan(gotrig.atanh(1.5))
    assert math.isnan(gotrig.acosh(0.5))
    assert gotrig.acosh(1.0) == 0.0
    assert gotrig.asinh(-math.inf) == -math.inf
    assert gotrig.log1p(1e-20) == 1e-20
    assert gotrig.log1p(-1.0) == -math.inf


def test_four_over_pi_table_is_computed_correctly() -> None:
    """The Payne-Hanek table: 4/pi's binary digits, first and last words as Go has them."""
    assert gosin._M_PI4[:2] == (0x1, 0x45F306DC9C882A53)
    assert gosin._M_PI4[-1] == 0xAC06608DF8F6D757


@pytest.mark.parametrize(
    ("x", "sin", "cos"),
    [
        (10.0, -0.5440211108893699, -0.8390715290764524),
        (1e9, 0.5458434494486994, 0.8378871813639024),
        (1e300, -0.8178819121159087, -0.5753861119575491),
    ],
)
def test_sin_cos_match_go_including_huge_arguments(x: float, sin: float, cos: float) -> None:
    """Cody-Waite below 2**29, Payne-Hanek above; values as Go (and promtool) give them."""
    assert gosin.sin(x) == sin
    assert gosin.cos(x) == cos


def test_tan_and_special_values() -> None:
    """tan(10) as Go gives it; sin(-0) = -0; non-finite input gives NaN."""
    assert gosin.tan(10.0) == 0.6483608274590867
    assert math.copysign(1.0, gosin.sin(-0.0)) < 0
    assert math.isnan(gosin.cos(math.inf))
    assert math.isnan(gosin.tan(math.nan))
