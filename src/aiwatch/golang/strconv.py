"""Go's ``strconv.ParseFloat`` and shortest ``strconv.FormatFloat`` for float64.

Prometheus reads numbers with ``ParseFloat`` (the ``le`` label of a histogram bucket, a
template's ``humanize "1_000"``) and writes them with ``FormatFloat``; these follow Go's
rules exactly, checked against promtool: underscores between digits (``1_000``), hexadecimal
mantissas with a binary exponent (``0x1p3``), ``NaN`` only unsigned, ``Inf``/``Infinity``
with an optional sign, any letter case, and "value out of range" past float64.
"""

import math
from decimal import Decimal

_HEX_DIGITS = "0123456789abcdef"


class NumError(ValueError):
    """A string ``ParseFloat`` refuses; the message is Go's (``strconv.ParseFloat: …``)."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f'strconv.ParseFloat: parsing "{text}": {reason}')
        self.text = text
        self.reason = reason


def parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``; ``NumError`` for invalid syntax or out of range."""
    special = _special(text)
    if special is not None:
        return special
    if not _well_formed(text):
        raise NumError(text, "invalid syntax")
    clean = text.replace("_", "")
    unsigned = clean.lstrip("+-")
    try:
        value = float.fromhex(clean) if unsigned[:2].lower() == "0x" else float(clean)
    except OverflowError:
        value = math.inf
    if math.isinf(value):
        raise NumError(text, "value out of range")
    return value


def parse_float_or_none(text: str) -> float | None:
    """``parse_float``, or None where Go returns an error."""
    try:
        return parse_float(text)
    except NumError:
        return None


def _special(text: str) -> float | None:
    """Go's ``special``: a signed ``inf``/``infinity`` or an unsigned ``nan``, any case."""
    lowered = text.lower()
    unsigned = lowered[1:] if lowered[:1] in ("+", "-") else lowered
    if unsigned in ("inf", "infinity"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == "nan":
        return math.nan
    return None


def _well_formed(text: str) -> bool:
    """Go's ``readFloat`` accepting the whole string, then ``underscoreOK``."""
    i = 1 if text[:1] in ("+", "-") else 0
    hexadecimal = i + 2 < len(text) and text[i] == "0" and text[i + 1] in "xX"
    if hexadecimal:
        i += 2
    digits = _HEX_DIGITS if hexadecimal else _HEX_DIGITS[:10]
    saw_digits = saw_dot = False
    while i < len(text):
        ch = text[i].lower() if text[i].isascii() else "!"
        if ch == "_":
            pass
        elif ch == "." and not saw_dot:
            saw_dot = True
        elif ch in digits:
            saw_digits = True
        else:
            break
        i += 1
    if not saw_digits:
        return False
    if i < len(text) and text[i].lower() == ("p" if hexadecimal else "e"):
        i += 1
        if i < len(text) and text[i] in "+-":
            i += 1
        start = i
        while i < len(text) and ((text[i].isascii() and text[i].isdigit()) or text[i] == "_"):
            i += 1
        if not any(ch.isdigit() for ch in text[start:i]):
            return False
    elif hexadecimal:
        return False  # a hexadecimal mantissa needs its binary exponent
    return i == len(text) and ("_" not in text or _underscores_ok(text))


def _underscores_ok(text: str) -> bool:
    """Go's ``underscoreOK``: an underscore only between digits (a base prefix counts)."""
    s = text[1:] if text[:1] in ("+", "-") else text
    saw = "^"  # ^ start, 0 digit or prefix, _ underscore, ! anything else
    i = 0
    hexadecimal = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexadecimal = 2, "0", s[1].lower() == "x"
    for ch in s[i:]:
        if ch.isascii() and (ch.isdigit() or (hexadecimal and ch.lower() in "abcdef")):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def format_float(v: float, fmt: str) -> str:
    """``strconv.FormatFloat(v, fmt, -1, 64)``: the shortest digits that read back as ``v``.

    ``fmt`` is ``'f'`` (no exponent), ``'g'`` (exponent below 1e-4 and from 1e+06, as
    ``%v`` prints), ``'e'`` or ``'E'``.
    """
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if fmt == "f":
        return _format_f(v)
    if fmt == "g":
        return _format_g(v)
    if fmt in ("e", "E"):
        text = _format_e(v)
        return text.upper() if fmt == "E" else text
    msg = f"unsupported format {fmt!r}"
    raise ValueError(msg)


def _format_f(v: float) -> str:
    text = repr(v)  # the shortest digits that read back as v
    if "e" not in text:
        return text.removesuffix(".0")
    text = format(Decimal(text), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _format_e(v: float) -> str:
    digits, _, exp = f"{v:.16e}".partition("e")
    # The shortest mantissa that still round-trips.
    for places in range(17):
        candidate = f"{v:.{places}e}"
        if float(candidate) == v:
            digits, _, exp = candidate.partition("e")
            break
    return f"{digits}e{exp[0]}{int(exp[1:]):02d}"


def _format_g(v: float) -> str:
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign = "-" if v < 0 else ""
    # repr gives the shortest round-tripping digits; read them back out.
    text = repr(abs(v))
    if "e" in text:
        mantissa, _, exp_text = text.partition("e")
        digits = mantissa.replace(".", "").rstrip("0") or "0"
        exp = int(exp_text)
    else:
        int_part, _, frac = text.partition(".")
        frac = frac.rstrip("0")
        if int_part != "0":
            digits = (int_part + frac).rstrip("0")
            exp = len(int_part) - 1
        else:
            stripped = frac.lstrip("0")
            digits = stripped
            exp = -(len(frac) - len(stripped)) - 1
    # strconv decides on exponent form with precision 6 when printing the shortest digits.
    if exp < -4 or exp >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return sign + digits + "0" * (exp + 1 - len(digits))
    return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"
