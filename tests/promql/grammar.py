"""A small random PromQL grammar over the series of ``differential.py``.

Typed generation: ``vector`` and ``scalar`` produce expressions of that type, with the
constructs alerting rules use (selectors with every matcher kind, offsets and ``@``, range
functions, aggregations, arithmetic/comparison/set operators with vector matching).
"""

import random
from collections.abc import Callable

COUNTER = "http_requests_total"
GAUGES = ("temperature", "queue_depth")
RANGES = ("1m", "2m", "3m", "5m", "10m")
RANGE_FUNCS = (
    "rate", "irate", "increase", "delta", "idelta", "resets", "changes", "avg_over_time",
    "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "stddev_over_time", "stdvar_over_time", "present_over_time", "deriv",
)  # fmt: skip
ELEMENTWISE = (
    "abs", "ceil", "floor", "sqrt", "exp", "ln", "log2", "log10", "sgn", "atan", "timestamp", "deg",
    "rad", "sort", "sort_desc", "histogram_count", "histogram_sum", "asin", "acos", "sinh",
    "cosh", "tanh", "asinh", "acosh", "atanh", "sin", "cos", "tan",
)  # fmt: skip
DATES = (
    "minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month",
    "year",
)  # fmt: skip
AGGS = ("sum", "avg", "min", "max", "count", "stddev", "stdvar", "group")
ARITH = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARE = ("==", "!=", ">", "<", ">=", "<=")
LABELS = ("job", "instance", "code")


class Grammar:
    """Random expressions; ``max_eval_s`` bounds ``@`` timestamps to loaded samples."""

    def __init__(self, rng: random.Random, max_eval_s: int) -> None:
        self.rng = rng
        self.max_eval_s = max_eval_s

    def pick(self, options: tuple[str, ...]) -> str:
        """One of ``options``."""
        return self.rng.choice(options)

    def matchers(self) -> str:
        """Zero to two label matchers with all four operators, mostly on fitting values."""
        values = {
            "job": ("api", "web", "db", "api|web", "w.b", ".*", "(?i)API|db", "[[:alpha:]]{3}"),
            "instance": ("i1", "i2", "i.*", "i[2-9]", "i[[:digit:]]$"),
            "code": ("200", "500", "5..", "2.*|5.."),
        }
        out = []
        for _ in range(self.rng.choice((0, 0, 1, 1, 2))):
            label = self.pick(("job", "instance", "code"))
            op = self.pick(("=", "!=", "=~", "!~"))
            choices = values[label] if self.rng.random() < 0.85 else ("api", "i1", "500", ".+")
            value = self.pick(choices)
            if op in ("=", "!=") and any(ch in value for ch in ".*|["):
                op = "=~" if op == "=" else "!~"
            out.append(f'{label}{op}"{value}"')
        return "{" + ",".join(out) + "}" if out else ""

    def modifiers(self) -> str:
        """An optional ``offset`` and/or ``@``."""
        out = ""
        roll = self.rng.random()
        if roll < 0.25:
            out += f" @ {self._at()}"
        if roll < 0.1 or roll > 0.8:
            out += f" offset {self.pick(('30s', '1m', '5m', '7m', '1m30s', '1h'))}"
        return out

    def _at(self) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return self.pick(("start()", "end()"))
        if roll < 0.3:
            return f"{self.rng.randint(0, self.max_eval_s)}.{self.rng.randint(0, 999):03d}"
        return str(self.rng.randint(0, self.max_eval_s // 60) * 60)

    def selector(self, kind: str = "any") -> str:
        """An instant-vector selector."""
        if kind == "counter" or (kind == "any" and self.rng.random() < 0.4):
            name = COUNTER
        elif kind == "bucket":
            name = "req_duration_seconds_bucket"
        elif kind == "temperature":
            name = "temperature"
        else:
            name = self.pick(GAUGES)
        if self.rng.random() < 0.05:
            return '{__name__=~"temperature|queue_depth"}' + self.modifiers()
        return name + self.matchers() + self.modifiers()

    def range_selector(self, kind: str = "any") -> str:
        """A range-vector selector."""
        base = self.selector(kind)
        rng = self.pick(RANGES)
        if " " in base:  # modifiers go after the range
            name, mods = base.split(" ", 1)
            return f"{name}[{rng}] {mods}"
        return f"{base}[{rng}]"

    def scalar(self, depth: int) -> str:
        """A scalar expression."""
        roll = self.rng.random()
        if depth <= 0 or roll < 0.6:
            return self.pick(("0", "1", "2", "0.5", "3", "10", "-1", "100", "0.25"))
        if roll < 0.68:
            return self.pick(("time()", "pi()"))
        if roll < 0.7:
            return f"({self.scalar(depth - 1)} {self.pick(COMPARE)} bool {self.scalar(depth - 1)})"
        if roll < 0.85:
            return f"scalar({self.vector(depth - 1)})"
        return f"({self.scalar(depth - 1)} {self.pick(ARITH)} {self.scalar(depth - 1)})"

    def vector(self, depth: int) -> str:
        """An instant-vector expression."""
        if depth <= 0:
            return self.selector()
        makers: list[tuple[float, Callable[[int], str]]] = [
            (3, lambda d: self.selector()),
            (4, self._range_call),
            (2, self._elementwise),
            (3, self._aggregation),
            (3, self._vector_scalar),
            (3, self._vector_vector),
            (1, self._set_op),
            (1, self._histogram),
            (1, self._absent),
            (1, self._labels),
            (1, self._subquery),
            (1, self._dates),
            (1, lambda d: f"-{self.vector(d - 1)}"),
            (1, lambda d: f"vector({self.scalar(d - 1)})"),
        ]
        weights = [w for w, _ in makers]
        maker = self.rng.choices([m for _, m in makers], weights=weights)[0]
        return maker(depth)

    def _range_call(self, depth: int) -> str:
        del depth
        func = self.pick(RANGE_FUNCS)
        kind = "counter" if func in ("rate", "irate", "increase", "resets") else "any"
        if self.rng.random() < 0.1:
            q = self.pick(("0", "0.5", "0.9", "1", "-0.5", "1.5"))
            return f"quantile_over_time({q}, {self.range_selector()})"
        if self.rng.random() < 0.05:
            return f"predict_linear({self.range_selector()}, 600)"
        if self.rng.random() < 0.05:
            factors = self.pick(("0.5, 0.5", "0.1, 0.9", "0.3, 0.01"))
            return f"holt_winters({self.range_selector()}, {factors})"
        if self.rng.random() < 0.05:
            return f"absent_over_time({self.range_selector()})"
        return f"{func}({self.range_selector(kind)})"

    def _elementwise(self, depth: int) -> str:
        inner = self.vector(depth - 1)
        roll = self.rng.random()
        if roll < 0.15:
            return f"clamp({inner}, {self.pick(('0', '-10'))}, {self.pick(('5', '50'))})"
        if roll < 0.25:
            return f"clamp_min({inner}, {self.pick(('0', '10'))})"
        if roll < 0.35:
            return f"clamp_max({inner}, {self.pick(('0', '10'))})"
        if roll < 0.45:
            return f"round({inner}, {self.pick(('1', '0.1', '5', '0.25', '0', '-2'))})"
        if roll < 0.5:
            return f"round({inner})"
        func = self.pick(ELEMENTWISE)
        if func == "timestamp" and self.rng.random() < 0.7:
            return f"timestamp({self.selector()})"
        return f"{func}({inner})"

    def _grouping(self) -> str:
        roll = self.rng.random()
        labels = ", ".join(self.rng.sample(LABELS, self.rng.randint(1, 2)))
        if roll < 0.35:
            return ""
        if roll < 0.7:
            return f" by ({labels})"
        return f" without ({labels})"

    def _aggregation(self, depth: int) -> str:
        roll = self.rng.random()
        if roll < 0.1:
            # Only over a gauge whose series never tie (see differential.py): among equal
            # values Prometheus' choice depends on the order it happens to hold series in.
            k = self.pick(("1", "2", "3", "2.5", "0", "scalar(nonexistent)"))
            op = self.pick(("topk", "bottomk"))
            return f"{op}{self._grouping()} ({k}, {self.selector('temperature')})"
        if roll < 0.2:
            q = self.pick(("0", "0.5", "0.9", "1", "0.25"))
            return f"quantile{self._grouping()} ({q}, {self.vector(depth - 1)})"
        if roll < 0.27:
            # Over data values or integers: a computed sum's last bit depends on the order
            # Prometheus happens to hold series in, and count_values turns it into a label.
            inner = (
                self.selector() if self.rng.random() < 0.7 else f"floor({self.vector(depth - 1)})"
            )
            return f'count_values{self._grouping()} ("value", {inner})'
        return f"{self.pick(AGGS)}{self._grouping()} ({self.vector(depth - 1)})"

    def _vector_scalar(self, depth: int) -> str:
        op = self.pick(ARITH + COMPARE)
        if op in COMPARE and self.rng.random() < 0.4:
            op += " bool"
        vec, sc = self.vector(depth - 1), self.scalar(depth - 1)
        if self.rng.random() < 0.5:
            return f"{vec} {op} {sc}"
        return f"{sc} {op} {vec}"

    def _matching(self) -> str:
        roll = self.rng.random()
        if roll < 0.4:
            return ""
        if roll < 0.45:
            return " on()"
        labels = ", ".join(self.rng.sample(LABELS, self.rng.randint(1, 2)))
        return f" {self.pick(('on', 'ignoring'))}({labels})"

    def _vector_vector(self, depth: int) -> str:
        op = self.pick(ARITH + COMPARE)
        if op in COMPARE and self.rng.random() < 0.4:
            op += " bool"
        if self.rng.random() < 0.2:
            # Many-to-one: per-instance series joined with their job's info series.
            side = self.pick(("group_left", "group_right"))
            lhs = f"{self.pick((COUNTER, 'temperature'))}{self.matchers()}"
            info = "job_info"
            match = self.pick(("on(job)", "ignoring(instance, code, team)", "on(job, team)"))
            extra = self.pick(("team", "", "team, instance"))
            if side == "group_left":
                return f"{lhs} {op} {match} group_left({extra}) {info}"
            return f"{info} {op} {match} group_right({extra}) {lhs}"
        return f"{self.vector(depth - 1)} {op}{self._matching()} {self.vector(depth - 1)}"

    def _set_op(self, depth: int) -> str:
        op = self.pick(("and", "or", "unless"))
        return f"({self.vector(depth - 1)} {op}{self._matching()} {self.vector(depth - 1)})"

    def _histogram(self, depth: int) -> str:
        del depth
        q = self.pick(("0", "0.5", "0.9", "0.99", "1", "-1", "2"))
        inner = f"rate({self.range_selector('bucket')})"
        if self.rng.random() < 0.5:
            inner = f"sum by (le) ({inner})"
        return f"histogram_quantile({q}, {inner})"

    def _absent(self, depth: int) -> str:
        if self.rng.random() < 0.5:
            return f'absent(nonexistent{{job="{self.pick(("api", "x"))}"}})'
        return f"absent({self.vector(depth - 1)})"

    def _labels(self, depth: int) -> str:
        inner = self.vector(depth - 1)
        if self.rng.random() < 0.5:
            regex = self.pick(
                ("(.*)", "i(.)", "(a)(p)i", "nomatch", "([[:alpha:]]+)(.*)", "(?i)(A)PI")
            )
            repl = self.pick(("$1", "x-$1", "${1}y", "$2", "static"))
            src = self.pick(("instance", "job", "missing"))
            return f'label_replace({inner}, "dst", "{repl}", "{src}", "{regex}")'
        return f'label_join({inner}, "dst", "-", "job", "instance")'

    def _dates(self, depth: int) -> str:
        func = self.pick(DATES)
        roll = self.rng.random()
        if roll < 0.3:
            return f"{func}()"
        if roll < 0.6:
            return f"{func}(timestamp({self.selector()}))"
        if roll < 0.8:
            seconds = self.pick(("0", "951782400", "1709208000", "4107542399.5", "-86401"))
            return f"{func}(vector({seconds}))"
        return f"{func}({self.vector(depth - 1)} * 86400 * 17)"

    def _subquery(self, depth: int) -> str:
        del depth
        func = self.pick(("max_over_time", "avg_over_time", "count_over_time", "rate"))
        inner = self.pick(
            (f"rate({self.range_selector('counter')})", self.selector(), f"sum({self.selector()})")
        )
        window = f"[{self.pick(('5m', '10m'))}:{self.pick(('1m', '2m', '30s', '45s', ''))}]"
        mods = self.modifiers()
        return f"{func}(({inner}){window}{mods})"
