"""The series notation of rule unit tests: ``metric{l="v"}`` and ``1+2x3 _ stale 5x2``."""

import math
import re

from aiwatch.rules.group import STALE_NAN

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# No hexadecimal here: in series values Prometheus reads ``0x8`` as "0, eight more times".
_NUM = r"(?:[Ii]nf|[Nn]a[Nn]|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
_ITEM = re.compile(rf"^(?P<a>[+-]?{_NUM}|stale)(?:(?P<b>[+-]{_NUM})?x(?P<n>\d+))?$")
_BLANK = re.compile(r"^_(?:x(?P<n>\d+))?$")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r"}


class SeriesError(ValueError):
    """Series text that does not follow the notation."""


def _number(text: str) -> float:
    body = text.lstrip("+-")
    negative = text.startswith("-")
    if body.lower() == "inf":
        value = math.inf
    elif body.lower() == "nan":
        value = math.nan
    else:
        value = float(body)
    return -value if negative else value


def parse_values(text: str) -> list[float | None]:
    """Expand the values notation; None marks an omitted sample (``_``)."""
    out: list[float | None] = []
    for item in text.split():
        blank = _BLANK.match(item)
        if blank:
            out.extend([None] * (int(blank.group("n")) if blank.group("n") else 1))
            continue
        match = _ITEM.match(item)
        if match is None:
            msg = f"unexpected {item!r} in series values"
            raise SeriesError(msg)
        a_text, b_text, n_text = match.group("a"), match.group("b"), match.group("n")
        if a_text == "stale":
            if n_text is not None:
                msg = f"unexpected {item!r} in series values"
                raise SeriesError(msg)
            out.append(STALE_NAN)
            continue
        a = _number(a_text)
        if n_text is None:
            out.append(a)
            continue
        step = _number(b_text) if b_text else 0.0
        for _ in range(int(n_text) + 1):
            out.append(a)
            a += step
    return out


def _quoted(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    if quote not in "\"'`":
        msg = f"expected a quoted label value at {text[pos:]!r}"
        raise SeriesError(msg)
    out, i = [], pos + 1
    while i < len(text) and text[i] != quote:
        if text[i] == "\\" and quote != "`" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(text[i])
        i += 1
    if i >= len(text):
        msg = "unterminated label value"
        raise SeriesError(msg)
    return "".join(out), i + 1


def parse_metric(text: str) -> dict[str, str]:
    """``name{a="b"}`` or ``{__name__="name"}`` to a label dict (``""`` is no labels)."""
    labels, rest = parse_metric_prefix(text)
    if rest.strip():
        msg = f"unexpected {rest.strip()!r} after the series labels"
        raise SeriesError(msg)
    return labels


def parse_metric_prefix(text: str) -> tuple[dict[str, str], str]:
    """Labels at the start of ``text`` and what follows them."""
    pos = len(text) - len(text.lstrip())
    labels: dict[str, str] = {}
    name = _NAME.match(text, pos)
    if name:
        labels["__name__"] = name.group()
        pos = name.end()
    if pos < len(text) and text[pos] == "{":
        pos += 1
        while True:
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            if pos < len(text) and text[pos] == "}":
                pos += 1
                break
            label = _LABEL.match(text, pos)
            if label is None:
                msg = f"expected a label name at {text[pos:]!r}"
                raise SeriesError(msg)
            pos = label.end()
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            if pos >= len(text) or text[pos] != "=":
                msg = f"expected '=' after label {label.group()!r}"
                raise SeriesError(msg)
            pos += 1
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            value, pos = _quoted(text, pos)
            if value:
                labels[label.group()] = value
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
    elif not name and text.strip():
        msg = f"cannot parse series {text!r}"
        raise SeriesError(msg)
    return labels, text[pos:]


def expand_series(
    series: str, values: str, interval_ms: int
) -> tuple[dict[str, str], list[tuple[int, float]]]:
    """One ``input_series`` entry: its labels and ``(t_ms, value)`` samples from time 0."""
    labels = parse_metric(series)
    if not labels:
        msg = f"series {series!r} has no labels"
        raise SeriesError(msg)
    samples = []
    for i, value in enumerate(parse_values(values)):
        if value is not None:
            samples.append((i * interval_ms, value))
    return labels, samples
