"""The functions alert templates can call: Go's builtins and Prometheus' additions."""

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus, urlparse

from aiwatch.durations import parse_duration
from aiwatch.golang import fmt as gofmt
from aiwatch.golang import regexp
from aiwatch.golang.strconv import parse_float
from aiwatch.golang.template.exec import truth
from aiwatch.golang.template.parse import GoStruct, TemplateError

# ``query`` in templates: PromQL text and a millisecond timestamp to (labels, value) pairs.
TemplateQuery = Callable[[str, int], Sequence[tuple[Mapping[str, str], float]]]


def _float(value: Any) -> float:
    """Prometheus' ``convertToFloat``."""
    if isinstance(value, bool):
        msg = "can't convert bool to float"
        raise ValueError(msg)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return parse_float(value)
    msg = f"can't convert {gofmt.go_type(value)} to float"
    raise ValueError(msg)


def _g4(v: float) -> str:
    return gofmt.format_float(v, "g", 4)


def humanize(value: Any) -> str:
    """Metric prefixes (k, M, … and m, u, …) with four significant digits."""
    v = _float(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _g4(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize1024(value: Any) -> str:
    """Binary prefixes (ki, Mi, …) with four significant digits."""
    v = _float(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def humanize_duration(value: Any) -> str:
    """Seconds as ``1d 2h 3m 4s``, or ``1.5s``, ``20ms`` below a minute."""
    v = _float(value)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def humanize_percentage(value: Any) -> str:
    """A ratio as a percentage with four significant digits."""
    return _g4(_float(value) * 100) + "%"


class GoTime:
    """A UTC instant printed like Go's ``time.Time.String()``."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __str__(self) -> str:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.ms)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        frac = self.ms % 1000
        if frac:
            text += f".{frac:03d}".rstrip("0")
        return text + " +0000 UTC"


def _to_time(value: Any) -> GoTime:
    v = _float(value)
    if math.isnan(v) or math.isinf(v):
        msg = "value is NaN or Inf"
        raise ValueError(msg)
    nanos = v * 1e9
    if not -(2.0**63) <= nanos <= 2.0**63:
        msg = (
            f"{gofmt.shortest(v)} cannot be represented as a nanoseconds timestamp "
            "since it overflows int64"
        )
        raise ValueError(msg)
    # Prometheus goes through model.Time: nanoseconds truncated to milliseconds.
    return GoTime(int(int(nanos) / 1_000_000))


def humanize_timestamp(value: Any) -> str:
    """Unix seconds as Go prints a UTC time (millisecond precision)."""
    v = _float(value)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    return str(_to_time(v))


def _string(value: Any, what: str = "value") -> str:
    if not isinstance(value, str):
        msg = f"wrong type for {what}; expected string; got {gofmt.go_type(value)}"
        raise TemplateError(msg)
    return value


def _regexp_quote(text: str) -> str:
    """Go regexp's ``quote``: back-quoted when ``strconv.CanBackquote``, else ``Quote``."""
    plain = all(c == "\t" or (c >= " " and c != "\x7f") for c in text)
    if plain and "`" not in text and "\ufeff" not in text:
        return f"`{text}`"
    return gofmt.quote(text)


def re_replace_all(pattern: Any, repl: Any, text: Any) -> str:
    """Go's ``regexp.ReplaceAllString`` (a bad pattern fails the whole template)."""
    source = _string(pattern)
    try:
        compiled = regexp.compile(source)
    except regexp.RegexpError as err:
        # Prometheus compiles with MustCompile, so Go's message comes from its panic.
        msg = f"regexp: Compile({_regexp_quote(source)}): {err}"
        raise regexp.RegexpError(msg) from None
    return compiled.replace_all(_string(text), _string(repl))


def match(pattern: Any, text: Any) -> bool:
    """Go's ``regexp.MatchString``: unanchored."""
    return regexp.compile(_string(pattern)).matches(_string(text))


def title(text: Any) -> str:
    """Go's deprecated ``strings.Title``: upper-case the first letter of every word."""
    out, prev = [], " "
    for ch in _string(text):
        sep = not (ch.isalnum() or ch == "_") if ord(ch) < 0x80 else ch.isspace()
        prev_sep = not (prev.isalnum() or prev == "_") if ord(prev) < 0x80 else prev.isspace()
        out.append(ch.upper() if prev_sep and not sep else ch)
        prev = ch
    return "".join(out)


def _split_host_port(host_port: str) -> tuple[str, str] | None:
    if host_port.startswith("["):
        end = host_port.find("]")
        if end < 0 or host_port[end + 1 : end + 2] != ":":
            return None
        return host_port[1:end], host_port[end + 2 :]
    if host_port.count(":") != 1:
        return None
    host, port = host_port.split(":")
    return host, port


def strip_port(host_port: Any) -> str:
    """The host part of ``host:port``; the input unchanged when it has no port."""
    text = _string(host_port)
    parts = _split_host_port(text)
    return parts[0] if parts else text


def strip_domain(host_port: Any) -> str:
    """The first DNS label of the host, keeping the port; IP addresses unchanged."""
    text = _string(host_port)
    parts = _split_host_port(text)
    host, port = parts if parts else (text, "")
    if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host) and (host.count(".") == 3 or ":" in host):
        return text
    host = host.split(".")[0]
    if port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return host


def _compare(op: str) -> Callable[..., bool]:
    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int):
            return "int"
        if isinstance(v, float):
            return "float"
        if isinstance(v, str):
            return "string"
        return "other"

    def compare(a: Any, *others: Any) -> bool:
        if not others:
            msg = "missing argument for comparison"
            raise TemplateError(msg)
        for b in others:
            ka, kb = kind(a), kind(b)
            if ka != kb:
                msg = "incompatible types for comparison"
                raise ValueError(msg)
            if op in ("lt", "le", "gt", "ge") and ka in ("bool", "other"):
                msg = "invalid type for comparison"
                raise ValueError(msg)
            result = {
                "eq": a == b,
                "ne": a != b,
                "lt": a < b,
                "le": a <= b,
                "gt": a > b,
                "ge": a >= b,
            }[op]
            if op == "eq" and result:
                return True
            if op != "eq":
                return bool(result)
        return False

    return compare


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, Mapping):
            item = item.get(key, "")
        elif isinstance(item, list | str):
            if not isinstance(key, int) or isinstance(key, bool):
                msg = f"cannot index slice/array with type {gofmt.go_type(key)}"
                raise ValueError(msg)
            if not 0 <= key < len(item):
                msg = f"index out of range: {key}"
                raise ValueError(msg)
            item = item[key] if isinstance(item, list) else ord(item.encode()[key : key + 1])
        else:
            msg = f"can't index item of type {gofmt.go_type(item)}"
            raise ValueError(msg)
    return item


def _and(*args: Any) -> Any:
    for arg in args:
        if not truth(arg):
            return arg
    return args[-1]


def _or(*args: Any) -> Any:
    for arg in args:
        if truth(arg):
            return arg
    return args[-1]


def _printf(fmt: Any, *args: Any) -> str:
    return gofmt.sprintf(_string(fmt), *args)


def _parse_duration(text: Any) -> float:
    try:
        return parse_duration(_string(text))
    except ValueError:
        msg = f'not a valid duration string: "{text}"'
        raise ValueError(msg) from None


def _unsupported(name: str) -> Callable[..., Any]:
    def call(*_: Any) -> Any:
        msg = f"{name} is not available in aiwatch templates"
        raise ValueError(msg)

    return call


def _len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, Mapping | list | tuple):
        return len(value)
    msg = f"len of type {gofmt.go_type(value)}"
    raise ValueError(msg)


def builtins() -> dict[str, Callable[..., Any]]:
    """Go's predefined template functions."""
    return {
        "and": _and,
        "or": _or,
        "not": lambda v: not truth(v),
        "len": _len,
        "index": _index,
        "print": gofmt.sprint,
        "printf": _printf,
        "println": gofmt.sprintln,
        "eq": _compare("eq"),
        "ne": _compare("ne"),
        "lt": _compare("lt"),
        "le": _compare("le"),
        "gt": _compare("gt"),
        "ge": _compare("ge"),
        "html": lambda *a: html.escape(gofmt.sprint(*a)).replace("&#x27;", "&#39;"),
        "urlquery": lambda *a: quote_plus(gofmt.sprint(*a)),
        "js": lambda *a: gofmt.sprint(*a).replace("\\", "\\\\").replace("'", "\\'"),
        "slice": lambda item, *idx: item[slice(*idx)] if len(idx) <= 2 else item,
        "call": _unsupported("call"),
    }


def _sample(labels: Mapping[str, str], value: float) -> GoStruct:
    return GoStruct("*template.sample", {"Labels": dict(labels), "Value": value})


def funcs(
    *, t_ms: int = 0, query: TemplateQuery | None = None, external_url: str = ""
) -> dict[str, Callable[..., Any]]:
    """Go's builtins plus Prometheus' template functions, bound to one evaluation."""

    def do_query(q: Any) -> list[GoStruct]:
        if query is None:
            msg = "query is not available here"
            raise ValueError(msg)
        return [_sample(labels, value) for labels, value in query(_string(q), t_ms)]

    def first(v: Any) -> GoStruct:
        if not v:
            msg = "first() called on vector with no elements"
            raise ValueError(msg)
        return v[0]  # type: ignore[no-any-return]

    def link(tab: int) -> Callable[[Any], str]:
        return lambda expr: f"/graph?g0.expr={quote_plus(_string(expr))}&g0.tab={tab}"

    table: dict[str, Callable[..., Any]] = {
        "query": do_query,
        "first": first,
        "label": lambda name, s: s["Labels"].get(name, ""),
        "value": lambda s: s["Value"],
        "strvalue": lambda s: s["Labels"].get("__value__", ""),
        "args": lambda *a: {f"arg{i}": v for i, v in enumerate(a)},
        "reReplaceAll": re_replace_all,
        "safeHtml": _string,
        "match": match,
        "title": title,
        "toUpper": lambda s: _string(s).upper(),
        "toLower": lambda s: _string(s).lower(),
        "graphLink": link(0),
        "tableLink": link(1),
        "sortByLabel": lambda name, v: sorted(v, key=lambda s: s["Labels"].get(name, "")),
        "stripPort": strip_port,
        "stripDomain": strip_domain,
        "humanize": humanize,
        "humanize1024": humanize1024,
        "humanizeDuration": humanize_duration,
        "humanizePercentage": humanize_percentage,
        "humanizeTimestamp": humanize_timestamp,
        "toTime": _to_time,
        "pathPrefix": lambda: urlparse(external_url).path,
        "externalURL": lambda: quote(external_url, safe=":/?#[]@!$&'()*+,;=%"),
        "parseDuration": _parse_duration,
    }
    return builtins() | table
