"""Go's ``fmt`` formatting of the values templates print, so annotations read as in Prometheus."""

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiwatch.golang import strconv

# One Go printf directive: flags, width, precision, verb.
_DIRECTIVE = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])")


def shortest(v: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``: what Go's ``%v`` prints for a float64."""
    return strconv.format_float(v, "g")


def _special(v: float) -> str | None:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return None


def format_float(v: float, verb: str, prec: int | None, flags: str = "") -> str:
    """Go's ``%e %f %g`` (and ``%v``) for one float64."""
    special = _special(v)
    if special is not None:
        return special
    plus = "+" if "+" in flags and v >= 0 else ""
    if verb in ("v", "g") and prec is None:
        return plus + shortest(v)
    if verb in ("g", "G"):
        text = f"%{'#' if '#' in flags else ''}.{prec if prec is not None else 6}g" % v
    elif verb in ("e", "E"):
        text = f"%.{prec if prec is not None else 6}e" % v
    else:
        text = f"%.{prec if prec is not None else 6}f" % v
    if verb.isupper():
        text = text.upper()
    return plus + text


def quote(text: str) -> str:
    """Go's ``strconv.Quote``."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_type(value: Any) -> str:
    """The Go type name a template value would have, for ``%!verb(type=value)`` output."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]string"
    if isinstance(value, Sequence):
        return "[]interface {}"
    return type(value).__name__


def sprint_value(value: Any) -> str:
    """Go's ``%v`` of one value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return shortest(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = " ".join(f"{sprint_value(k)}:{sprint_value(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, Sequence):
        return "[" + " ".join(sprint_value(v) for v in value) + "]"
    return str(value)


def sprint(*args: Any) -> str:
    """Go's ``fmt.Sprint``: spaces only between operands when neither is a string."""
    out = ""
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += sprint_value(arg)
    return out


def sprintln(*args: Any) -> str:
    """Go's ``fmt.Sprintln``: always spaces, then a newline."""
    return " ".join(sprint_value(a) for a in args) + "\n"


def _pad(text: str, flags: str, width: int | None) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and text and (text[0].isdigit() or text[0] in "+-"):
        sign = text[0] if text[0] in "+-" else ""
        body = text[len(sign) :]
        return sign + body.rjust(width - len(sign), "0")
    return text.rjust(width)


def _bad(verb: str, value: Any) -> str:
    return f"%!{verb}({go_type(value)}={sprint_value(value)})"


def _one(verb: str, flags: str, prec: int | None, value: Any) -> str:
    if verb == "v":
        if isinstance(value, float):
            return format_float(value, "v", prec, flags)
        return sprint_value(value)
    if verb == "T":
        return go_type(value)
    if isinstance(value, bool):
        return sprint_value(value) if verb == "t" else _bad(verb, value)
    if isinstance(value, int):
        return _int(verb, flags, value)
    if isinstance(value, float):
        if verb in "eEfFgG":
            return format_float(value, verb, prec, flags)
        return _bad(verb, value)
    if isinstance(value, str):
        if verb == "s":
            return value if prec is None else value[:prec]
        if verb == "q":
            return quote(value)
        if verb in "xX":
            text = value.encode().hex()
            return text.upper() if verb == "X" else text
        return _bad(verb, value)
    if verb == "s" and isinstance(value, Mapping | Sequence):
        return sprint_value(value)
    return _bad(verb, value)


def _int(verb: str, flags: str, value: int) -> str:
    plus = "+" if "+" in flags and value >= 0 else ""
    if verb == "d":
        return plus + str(value)
    if verb in "xX":
        text = format(value, "x")
        return plus + (text.upper() if verb == "X" else text)
    if verb == "o":
        return plus + format(value, "o")
    if verb == "b":
        return plus + format(value, "b")
    if verb == "c":
        return chr(value)
    if verb == "q":
        return "'" + chr(value) + "'"
    return _bad(verb, value)


def sprintf(fmt: str, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` for the verbs templates use, with Go's ``%!`` error forms."""
    out: list[str] = []
    pos = 0
    argi = 0
    while pos < len(fmt):
        start = fmt.find("%", pos)
        if start < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:start])
        match = _DIRECTIVE.match(fmt, start)
        if match is None:
            out.append("%!(NOVERB)")
            break
        flags, width_text, prec_text, verb = match.groups()
        pos = match.end()
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        prec = int(prec_text or "0") if prec_text is not None else None
        width = int(width_text) if width_text else None
        out.append(_pad(_one(verb, flags, prec, args[argi]), flags, width))
        argi += 1
    if argi < len(args):
        extra = ", ".join(f"{go_type(a)}={sprint_value(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def format_e_shortest(v: float, *, upper: bool = False) -> str:
    """``strconv.FormatFloat(v, 'e', -1, 64)`` (``'E'`` when ``upper``)."""
    return strconv.format_float(v, "E" if upper else "e")
