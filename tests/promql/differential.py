"""Random series and PromQL expressions, and a comparison of aiwatch with ``promtool``.

Each *group* is one ``tests:`` entry of a ``promtool test rules`` file: input series in the
promtool notation and ``promql_expr_test`` cases whose ``exp_samples`` are aiwatch's own
results. promtool compares exactly and prints what it got for every case that differs, so a
differing case is parsed back and compared with a relative tolerance.
"""

import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from aiwatch.promql import STALE_NAN, MemoryStorage, PromQLError, Scalar, instant_query

EVALUATION_INTERVAL_S = 60  # also the step of subqueries written without one
STEPS = 40
JOBS = ("api", "web", "db")
INSTANCES = ("i1", "i2")
BUCKETS = ("0.1", "0.5", "1", "2.5", "+Inf")


@dataclass
class Series:
    """One input series: labels and one entry per step (float, ``None`` gap, or ``"stale"``)."""

    labels: dict[str, str]
    points: list[float | str | None]

    def notation(self) -> str:
        """The values in promtool's series notation, one explicit entry per step."""
        out = []
        for p in self.points:
            if p is None:
                out.append("_")
            elif isinstance(p, str):
                out.append(p)
            else:
                out.append(repr(p))
        return " ".join(out)

    def metric(self) -> str:
        """The series in PromQL metric notation."""
        return format_metric(self.labels)


@dataclass
class Case:
    """One expression at one evaluation time, with aiwatch's answer."""

    expr: str
    eval_s: int
    result: list[tuple[dict[str, str], float]] | None = None
    error: str | None = None


@dataclass
class Group:
    """Series shared by a number of cases."""

    series: list[Series]
    interval_s: int = 60
    cases: list[Case] = field(default_factory=list)


def format_metric(labels: dict[str, str]) -> str:
    """``name{a="b"}``, or ``{a="b"}`` without a name."""
    name = labels.get("__name__", "")
    rest = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


def _counter(rng: random.Random) -> list[float | str | None]:
    value = float(rng.randint(0, 50))
    out: list[float | str | None] = []
    for _ in range(STEPS):
        roll = rng.random()
        if roll < 0.04:
            value = float(rng.randint(0, 5))  # reset
        elif roll < 0.5:
            value += rng.randint(0, 20)
        elif roll < 0.7:
            value += round(rng.uniform(0, 10), 2)
        out.append(value)
    return _holes(rng, out)


def _gauge(rng: random.Random, tiebreak: int | None = None) -> list[float | str | None]:
    """Random values; with ``tiebreak``, a distinct fourth decimal per series, so that
    series given different ``tiebreak`` values never hold equal values at the same time."""
    base = rng.uniform(-50, 100)
    out: list[float | str | None] = []
    for _ in range(STEPS):
        value = base + rng.uniform(-20, 20)
        if tiebreak is None:
            out.append(round(value, rng.choice((0, 1, 3))))
        else:
            out.append(round(round(value, 3) + tiebreak / 10_000, 4))
    return _holes(rng, out)


def _holes(rng: random.Random, points: list[float | str | None]) -> list[float | str | None]:
    """Gaps (runs of ``_``) and stale markers in some series."""
    if rng.random() < 0.3:
        start = rng.randrange(STEPS)
        for i in range(start, min(STEPS, start + rng.randint(1, 10))):
            points[i] = None
    if rng.random() < 0.25:
        points[rng.randrange(STEPS)] = "stale"
    return points


def _histogram(rng: random.Random, job: str) -> list[Series]:
    counts = [0.0] * len(BUCKETS)
    per_bucket: list[list[float | str | None]] = [[] for _ in BUCKETS]
    stale_at = rng.randrange(STEPS) if rng.random() < 0.2 else None
    for step in range(STEPS):
        if rng.random() < 0.03:
            counts = [0.0] * len(BUCKETS)
        running = 0.0
        for i in range(len(BUCKETS)):
            running += rng.randint(0, 6)
            counts[i] += running
            per_bucket[i].append("stale" if step == stale_at else counts[i])
    name = "req_duration_seconds_bucket"
    return [
        Series({"__name__": name, "job": job, "le": le}, points)
        for le, points in zip(BUCKETS, per_bucket, strict=True)
    ]


def make_series(rng: random.Random) -> list[Series]:
    """Counters, gauges and classic histograms over a few jobs and instances."""
    series: list[Series] = []
    for job in JOBS:
        for inst in INSTANCES:
            for code in ("200", "500"):
                if rng.random() < 0.8:
                    labels = {"__name__": "http_requests_total", "job": job, "instance": inst}
                    series.append(Series({**labels, "code": code}, _counter(rng)))
            if rng.random() < 0.85:
                labels = {"__name__": "temperature", "job": job, "instance": inst}
                tiebreak = JOBS.index(job) * len(INSTANCES) + INSTANCES.index(inst)
                series.append(Series(labels, _gauge(rng, tiebreak)))
            if rng.random() < 0.6:
                labels = {"__name__": "queue_depth", "job": job, "instance": inst}
                series.append(Series(labels, _gauge(rng)))
        if rng.random() < 0.7:
            series.extend(_histogram(rng, job))
        series.append(
            Series({"__name__": "job_info", "job": job, "team": f"t-{job}"}, [1.0] * STEPS)
        )
    if rng.random() < 0.3:
        odd = _gauge(rng)
        for _ in range(3):
            odd[rng.randrange(STEPS)] = rng.choice(("NaN", "Inf", "-Inf"))
        series.append(Series({"__name__": "temperature", "job": "odd", "instance": "i9"}, odd))
    return series


def load(series: list[Series], interval_s: int) -> MemoryStorage:
    """The same samples promtool loads, in an aiwatch store."""
    store = MemoryStorage()
    for s in series:
        for step, p in enumerate(s.points):
            if p is None:
                continue
            value = STALE_NAN if p == "stale" else float(p)  # float() reads NaN and Inf
            store.append(s.labels, step * interval_s * 1000, value)
    return store


def evaluate(group: Group) -> None:
    """Fill in aiwatch's result (or error) for every case of ``group``."""
    store = load(group.series, group.interval_s)
    for case in group.cases:
        try:
            value = instant_query(case.expr, store, case.eval_s * 1000)
        except PromQLError as err:
            case.error = str(err)
            continue
        if isinstance(value, Scalar):
            case.result = [({}, value.value)]
        else:
            assert isinstance(value, list)
            case.result = [(s.labels, s.value) for s in value]


def _yaml_float(v: float) -> str:
    if math.isnan(v):
        return ".nan"
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    return repr(v)


def go_duration(seconds: int) -> str:
    """Prometheus' duration string for whole seconds (``1h2m3s``, ``0s``)."""
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def write_test_file(path: Path, groups: list[Group]) -> None:
    """A ``promtool test rules`` file with every case of ``groups``."""
    lines = ["rule_files: []", f"evaluation_interval: {EVALUATION_INTERVAL_S}s", "tests:"]
    for group in groups:
        lines += [f"  - interval: {group.interval_s}s", "    input_series:"]
        for s in group.series:
            lines += [
                f"      - series: {json.dumps(s.metric())}",
                f"        values: {s.notation()!r}",
            ]
        lines.append("    promql_expr_test:")
        for case in group.cases:
            lines += [
                f"      - expr: {json.dumps(case.expr)}",
                f"        eval_time: {case.eval_s}s",
            ]
            samples = case.result or []
            if not samples:
                lines.append("        exp_samples: []")
                continue
            lines.append("        exp_samples:")
            for labels, value in samples:
                lines += [
                    f"          - labels: {json.dumps(format_metric(labels))}",
                    f"            value: {_yaml_float(value)}",
                ]
    path.write_text("\n".join(lines) + "\n")


_HEADER = re.compile(r'^    expr: ("(?:[^"\\]|\\.)*"), time: (\S+?),(.*)$')
_SAMPLE = re.compile(r'(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\}) (\S+?)(?:, |$)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass
class Verdict:
    """What promtool reported for one case that did not match exactly."""

    error: str | None = None
    got: list[tuple[dict[str, str], float]] | None = None


def parse_failures(output: str) -> dict[tuple[str, str], Verdict]:
    """promtool's per-case failures, keyed by ``(expr, eval time)``."""
    failures: dict[tuple[str, str], Verdict] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        match = _HEADER.match(line)
        if match is None:
            continue
        key = (json.loads(match.group(1)), match.group(2))
        rest = match.group(3).strip()
        if rest.startswith("err:"):
            failures[key] = Verdict(error=rest[4:].strip())
            continue
        got_line = next(x for x in lines[i + 1 : i + 3] if x.strip().startswith("got:"))
        failures[key] = Verdict(got=_parse_samples(got_line.strip()[4:].strip()))
    return failures


def _parse_samples(text: str) -> list[tuple[dict[str, str], float]]:
    if text == "nil":
        return []
    out = []
    for labels_text, value in _SAMPLE.findall(text):
        labels = {k: json.loads(f'"{v}"') for k, v in _LABEL.findall(labels_text)}
        out.append((labels, float(value)))
    return out


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    """Equal to ``rel`` relative (NaN equals NaN, infinities must match exactly)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b))


def agrees(case: Case, verdict: Verdict | None) -> str | None:
    """``None`` if aiwatch and promtool agree on ``case``, else a description of the difference."""
    if verdict is None:
        # promtool matched the expected samples exactly, or errored when aiwatch did not
        # give samples: an aiwatch error writes no samples, which promtool accepts only
        # when its own result is empty too.
        if case.error is not None:
            return f"aiwatch failed ({case.error}) but promtool returned no samples"
        return None
    if verdict.error is not None:
        if case.error is not None:
            return None
        return f"promtool failed ({verdict.error}) but aiwatch returned {case.result}"
    if case.error is not None:
        return f"aiwatch failed ({case.error}) but promtool returned {verdict.got}"
    mine = {tuple(sorted(labels.items())): v for labels, v in case.result or []}
    theirs = {tuple(sorted(labels.items())): v for labels, v in verdict.got or []}
    if mine.keys() != theirs.keys():
        return f"label sets differ: aiwatch {case.result} promtool {verdict.got}"
    bad = [(k, mine[k], theirs[k]) for k in mine if not close(mine[k], theirs[k])]
    if bad:
        return f"values differ (labels, aiwatch, promtool): {bad}"
    return None
