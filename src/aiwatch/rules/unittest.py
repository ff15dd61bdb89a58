"""``aiwatch test rules``: rule unit tests in the ``promtool test rules`` format.

Evaluation follows promtool 2.42's ``rulesUnitTest``: input samples become visible as time
advances, every group is evaluated at each ``evaluation_interval`` step from 0 to the
largest ``eval_time``, firing alerts are compared at the step that covers each alert test's
``eval_time``, and ``promql_expr_test`` queries run at the end. Values compare exactly.
"""

import asyncio
import glob
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from aiwatch.config.yamlpos import Path as YamlPath
from aiwatch.config.yamlpos import Positions, YamlProblem, load_with_positions
from aiwatch.durations import format_duration, parse_duration
from aiwatch.golang.fmt import format_e_shortest, quote
from aiwatch.promql.storage import MemoryStorage
from aiwatch.rules.files import RuleFileError, load_rule_file
from aiwatch.rules.group import Group
from aiwatch.rules.query import LocalQuery
from aiwatch.rules.series import SeriesError, expand_series, parse_metric
from aiwatch.rules.types import QueryError

_FILE_KEYS = {"rule_files", "evaluation_interval", "group_eval_order", "tests"}
_GROUP_KEYS = {
    "interval",
    "input_series",
    "alert_rule_test",
    "promql_expr_test",
    "external_labels",
    "external_url",
    "name",
}
_ALERT_KEYS = {"eval_time", "alertname", "exp_alerts"}
_EXP_ALERT_KEYS = {"exp_labels", "exp_annotations"}
_PROMQL_KEYS = {"expr", "eval_time", "exp_samples"}
_SAMPLE_KEYS = {"labels", "value"}
_SERIES_KEYS = {"series", "values"}

Labels = tuple[tuple[str, str], ...]


class UnitTestError(Exception):
    """A test file that cannot be run as written."""


def go_labels(labels: Labels | dict[str, str]) -> str:
    """Go's ``labels.Labels.String()``: ``{a="b", c="d"}``."""
    items = sorted(labels.items()) if isinstance(labels, dict) else list(labels)
    return "{" + ", ".join(f"{k}={quote(v)}" for k, v in items) + "}"


def go_float_e(v: float) -> str:
    """``strconv.FormatFloat(v, 'E', -1, 64)``."""
    return format_e_shortest(v, upper=True)


def go_duration(ms: int) -> str:
    """Go's ``time.Duration.String()`` for whole milliseconds."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest // 1000}" + (f".{rest % 1000:03d}".rstrip("0") if rest % 1000 else "")
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _strict(value: Any, known: set[str], where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        msg = f"{where}: expected a mapping"
        raise UnitTestError(msg)
    unknown = sorted(set(value) - known)
    if unknown:
        msg = f"{where}: field {unknown[0]} not found"
        raise UnitTestError(msg)
    return value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {_scalar(k): _scalar(v) for k, v in value.items()}


def _duration_ms(value: Any, where: str) -> int:
    if value is None:
        return 0
    try:
        return round(parse_duration(str(value)) * 1000)
    except ValueError:
        msg = f"{where}: not a valid duration string: {str(value)!r}"
        raise UnitTestError(msg) from None


@dataclass
class _AlertCase:
    eval_ms: int
    text: str
    alertname: str
    expected: list[tuple[Labels, Labels]]


@dataclass
class _ExprCase:
    expr: str
    eval_ms: int
    text: str
    expected: list[tuple[Labels, float]] | str


class _TestGroup:
    def __init__(
        self, raw: Any, eval_interval_ms: int, rule_files: list[str], group_order: dict[str, int]
    ) -> None:
        body = _strict(raw, _GROUP_KEYS, "tests[]")
        self.interval_ms = _duration_ms(body.get("interval"), "interval")
        self.eval_interval_ms = eval_interval_ms
        self.rule_files, self.group_order = rule_files, group_order
        self.name = str(body.get("name") or "")
        self.external_labels = _string_map(body.get("external_labels"))
        self.external_url = str(body.get("external_url") or "")
        self.series = [
            _strict(s, _SERIES_KEYS, "input_series[]") for s in body.get("input_series") or []
        ]
        self.alert_cases = [self._alert_case(a) for a in body.get("alert_rule_test") or []]
        self.expr_cases = [self._expr_case(p) for p in body.get("promql_expr_test") or []]

    def _alert_case(self, raw: Any) -> _AlertCase:
        body = _strict(raw, _ALERT_KEYS, "alert_rule_test[]")
        expected = []
        for exp in body.get("exp_alerts") or []:
            exp_body = _strict(exp, _EXP_ALERT_KEYS, "exp_alerts[]")
            labels = _string_map(exp_body.get("exp_labels"))
            annotations = _string_map(exp_body.get("exp_annotations"))
            labels["alertname"] = str(body.get("alertname") or "")
            expected.append((_norm(labels), _norm(annotations)))
        eval_ms = _duration_ms(body.get("eval_time"), "eval_time")
        return _AlertCase(
            eval_ms, format_duration(eval_ms / 1000), str(body.get("alertname") or ""), expected
        )

    def _expr_case(self, raw: Any) -> _ExprCase:
        body = _strict(raw, _PROMQL_KEYS, "promql_expr_test[]")
        eval_ms = _duration_ms(body.get("eval_time"), "eval_time")
        text = format_duration(eval_ms / 1000)
        expected: list[tuple[Labels, float]] | str = []
        for sample in body.get("exp_samples") or []:
            sample_body = _strict(sample, _SAMPLE_KEYS, "exp_samples[]")
            label_text = str(sample_body.get("labels") or "")
            try:
                labels = parse_metric(label_text)
            except SeriesError as err:
                expected = f"labels {quote(label_text)}: {err}"
                break
            assert isinstance(expected, list)
            expected.append((_norm(labels), float(sample_body.get("value") or 0.0)))
        return _ExprCase(str(body.get("expr") or ""), eval_ms, text, expected)

    def max_eval_ms(self) -> int:
        times = [c.eval_ms for c in self.alert_cases] + [c.eval_ms for c in self.expr_cases]
        return max(times, default=0)

    def load_input(self) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
        by_labels: dict[Labels, tuple[dict[str, str], list[tuple[int, float]]]] = {}
        for entry in self.series:
            labels, samples = expand_series(
                str(entry.get("series") or ""), str(entry.get("values") or ""), self.interval_ms
            )
            # The same series twice: the later definition wins, as in promtool.
            by_labels[_norm(labels)] = (labels, samples)
        return list(by_labels.values())

    def groups(self) -> list[Group]:
        groups: list[tuple[int, int, Group]] = []
        for path in self.rule_files:
            for spec in load_rule_file(path):
                group = Group(
                    spec,
                    default_interval_s=self.interval_ms / 1000,
                    external_labels=self.external_labels,
                    external_url=self.external_url,
                )
                group.mark_restored()
                groups.append((self.group_order.get(spec.name, 0), len(groups), group))
        return [g for _, _, g in sorted(groups, key=lambda x: (x[0], x[1]))]

    async def run(self) -> list[str]:
        try:
            inputs = self.load_input()
            groups = self.groups()
        except SeriesError as err:
            return [str(err)]
        except RuleFileError as err:
            return [str(p) for p in err.problems]
        for case in self.alert_cases:
            if not case.alertname:
                where = f" (in TestGroup {self.name})" if self.name else ""
                return [
                    "an item under alert_rule_test misses required attribute alertname at "
                    f"eval_time {case.text}{where}"
                ]
        storage = MemoryStorage()
        query = LocalQuery(storage, subquery_step_ms=self.eval_interval_ms)
        pending = [(labels, list(samples)) for labels, samples in inputs]
        cases = sorted(self.alert_cases, key=lambda c: c.eval_ms)
        errors: list[str] = []
        ts = 0
        curr = 0
        maxt = self.max_eval_ms()
        while ts <= maxt:
            _feed(storage, pending, ts)
            eval_errors: list[str] = []
            for group in groups:
                await group.evaluate(ts, query, storage, template_query=query.for_templates)
                for rule in group.rules:
                    if rule.last_error is not None:
                        when = go_duration(ts)
                        eval_errors.append(
                            f"    rule: {rule.name}, time: {when}, err: {rule.last_error}"
                        )
            errors += eval_errors
            if eval_errors:
                return errors
            while curr < len(cases) and ts <= cases[curr].eval_ms < ts + self.eval_interval_ms:
                errors += self._check_alerts(groups, cases[curr], cases)
                eval_ms = cases[curr].eval_ms
                while curr < len(cases) and cases[curr].eval_ms == eval_ms:
                    curr += 1
            ts += self.eval_interval_ms
        for expr_case in self.expr_cases:
            errors += self._check_expr(query, expr_case)
        return errors

    def _check_alerts(
        self, groups: list[Group], case: _AlertCase, cases: list[_AlertCase]
    ) -> list[str]:
        same_time = [c for c in cases if c.eval_ms == case.eval_ms]
        names = {c.alertname for c in same_time}
        got: dict[str, list[tuple[Labels, Labels]]] = {}
        for group in groups:
            for rule in group.alerting_rules():
                if rule.name not in names:
                    continue
                got.setdefault(rule.name, []).extend(
                    (a.labels, tuple(sorted(a.annotations)))
                    for a in rule.active_alerts()
                    if str(a.state) == "firing"
                )
        errors = []
        for test in same_time:
            exp = sorted(test.expected)
            have = sorted(got.get(test.alertname, []))
            if exp != have:
                name = f"    name: {self.name},\n" if self.name else ""
                exp_text = _indent(_alerts_string(exp), "            ")
                got_text = _indent(_alerts_string(have), "            ")
                errors.append(
                    f"{name}    alertname: {test.alertname}, time: {test.text}, \n"
                    f"        exp:{exp_text}, \n        got:{got_text}"
                )
        return errors

    def _check_expr(self, query: LocalQuery, case: _ExprCase) -> list[str]:
        head = f"    expr: {quote(case.expr)}, time: {case.text}"
        try:
            got = query.run(case.expr, case.eval_ms)
        except QueryError as err:
            return [f"{head}, err: {err}"]
        if isinstance(case.expected, str):
            return [f"{head}, err: {case.expected}"]
        have = sorted((_norm(dict(s.labels)), s.value) for s in got)
        exp = sorted(case.expected)
        if not _same_samples(exp, have):
            exp_text, got_text = _samples_string(exp), _samples_string(have)
            return [f"{head},\n        exp: {exp_text}\n        got: {got_text}"]
        return []


def _same_samples(a: list[tuple[Labels, float]], b: list[tuple[Labels, float]]) -> bool:
    # reflect.DeepEqual on float64: exact, and NaN never equals NaN.
    return len(a) == len(b) and all(
        la == lb and va == vb for (la, va), (lb, vb) in zip(a, b, strict=True)
    )


def _norm(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _feed(
    storage: MemoryStorage, pending: list[tuple[dict[str, str], list[tuple[int, float]]]], ts: int
) -> None:
    """Append input samples up to ``ts``; like a TSDB, a repeated timestamp keeps the first."""
    for labels, samples in pending:
        taken = 0
        last: int | None = None
        for t_ms, value in samples:
            if t_ms > ts:
                break
            taken += 1
            if t_ms != last:
                storage.append(labels, t_ms, value)
                last = t_ms
        del samples[:taken]


def _indent(text: str, prefix: str) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0], *(prefix + line for line in lines[1:])])


def _alerts_string(alerts: Sequence[tuple[Labels, Labels]]) -> str:
    if not alerts:
        return "[]"
    parts = []
    for i, (labels, annotations) in enumerate(alerts):
        body = f"\nLabels:{go_labels(labels)}\nAnnotations:{go_labels(annotations)}"
        parts.append(f"{i}:" + _indent(body, "  "))
    return "[\n" + ",\n".join(parts) + "\n]"


def _samples_string(samples: Sequence[tuple[Labels, float]]) -> str:
    if not samples:
        return "nil"
    return ", ".join(f"{go_labels(labels)} {go_float_e(value)}" for labels, value in samples)


def _resolve(base: str, patterns: list[str], err: TextIO) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        path = pattern if not pattern or os.path.isabs(pattern) else os.path.join(base, pattern)
        found = sorted(glob.glob(path))
        if not found:
            print("  WARNING: no file match pattern", path, file=err)
        files += found
    return files


# Go type names and nested lists of the test-file format, for yaml.v2's strict errors.
_TYPES: dict[str, tuple[set[str], dict[str, str]]] = {
    "unitTestFile": (_FILE_KEYS, {"tests": "testGroup"}),
    "testGroup": (
        _GROUP_KEYS,
        {
            "input_series": "series",
            "alert_rule_test": "alertTestCase",
            "promql_expr_test": "promqlTestCase",
        },
    ),
    "series": (_SERIES_KEYS, {}),
    "alertTestCase": (_ALERT_KEYS, {"exp_alerts": "alert"}),
    "alert": (_EXP_ALERT_KEYS, {}),
    "promqlTestCase": (_PROMQL_KEYS, {"exp_samples": "sample"}),
    "sample": (_SAMPLE_KEYS, {}),
}


def _unknown_fields(
    value: Any, type_name: str, path: YamlPath, positions: Positions
) -> list[tuple[int, str]]:
    """``(line, message)`` for every key the format does not know, as yaml.v2 words it."""
    if not isinstance(value, dict):
        return []
    known, children = _TYPES[type_name]
    found: list[tuple[int, str]] = []
    for key, item in value.items():
        where = (*path, key)
        if key not in known:
            line = positions.of(where, key=True)[0]
            found.append((line, f"  line {line}: field {key} not found in type main.{type_name}"))
        elif key in children and isinstance(item, list):
            for i, element in enumerate(item):
                found += _unknown_fields(element, children[key], (*where, i), positions)
    return found


def run_file(path: str, *, err: TextIO) -> list[str]:
    """Every failure of one test file, as promtool words them; empty when it passes."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        try:
            doc, positions = load_with_positions(text)
        except YamlProblem as problem:
            return [f"yaml: line {problem.line}: {problem.message}"]
        unknown = sorted(_unknown_fields(doc, "unitTestFile", (), positions))
        if unknown:
            return ["yaml: unmarshal errors:\n" + "\n".join(m for _, m in unknown)]
        body = _strict(doc, _FILE_KEYS, path)
        eval_ms = _duration_ms(body.get("evaluation_interval"), "evaluation_interval") or 60_000
        order: dict[str, int] = {}
        for i, name in enumerate(body.get("group_eval_order") or []):
            if name in order:
                return [f"group name repeated in evaluation order: {name}"]
            order[name] = i
        rule_files = _resolve(os.path.dirname(path), list(body.get("rule_files") or []), err)
        groups = [_TestGroup(raw, eval_ms, rule_files, order) for raw in body.get("tests") or []]
    except OSError as error:
        # As Go words it (promtool): "open FILE: no such file or directory".
        reason = (error.strerror or str(error)).lower()
        return [f"open {error.filename or path}: {reason}"]
    except (yaml.YAMLError, UnitTestError, SeriesError) as error:
        return [str(error)]
    except UnicodeDecodeError:
        return [f"{path}: not UTF-8 text"]
    errors: list[str] = []
    for group in groups:
        errors += asyncio.run(group.run())
    return errors


def test_rules(
    files: Sequence[str],
    *,
    out: TextIO | None = None,  # noqa: PT028 (not a pytest test: the CLI's "test rules")
    err: TextIO | None = None,  # noqa: PT028
) -> int:
    """``aiwatch test rules``: promtool's report for each file; 0 when all pass, else 1."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    for path in files:
        print("Unit Testing: ", path, file=out)
        errors = run_file(path, err=err)
        if errors:
            failed = True
            print("  FAILED:", file=err)
            for error in errors:
                print(error, file=err)
                print(file=out)
        else:
            print("  SUCCESS", file=out)
        print(file=out)
    return 1 if failed else 0


# Keep pytest from collecting the CLI entry point when a test module imports it.
test_rules.__test__ = False  # type: ignore[attr-defined]
