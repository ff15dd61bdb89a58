"""Read Prometheus rule files into ``GroupSpec``s, reporting every problem at its line."""

import glob
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from aiwatch.config.problems import Problem
from aiwatch.config.yamlpos import Path, Positions, YamlProblem, format_path, load_with_positions
from aiwatch.durations import parse_duration
from aiwatch.rules import templates
from aiwatch.rules.model import GroupSpec, RuleSpec

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_GROUP_KEYS = frozenset({"name", "interval", "limit", "rules"})
_RULE_KEYS = frozenset(
    {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
)

# Turns PromQL text into a parsed expression, or raises ValueError saying why not.
ExprParser = Callable[[str], object]


class RuleFileError(Exception):
    """Rule files with problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def default_parser() -> ExprParser:
    """The PromQL parser of aiwatch's own engine (what rules are evaluated with)."""
    from aiwatch.promql.engine import parse

    return parse


class _Reader:
    def __init__(self, file: str, positions: Positions, parse_expr: ExprParser) -> None:
        self.file, self.positions, self.parse_expr = file, positions, parse_expr
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, *, key: bool = False) -> None:
        line, col = self.positions.of(path, key=key)
        self.problems.append(Problem(self.file, line, col, format_path(path), message))

    def mapping(self, value: Any, path: Path, known: frozenset[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping, got {type(value).__name__}")
            return {}
        for key in value:
            if key not in known:
                self.add((*path, key), f"unknown key {key!r}", key=True)
        return value

    def duration(self, value: Any, path: Path) -> float:
        if value is None:
            return 0.0
        try:
            return parse_duration(str(value))
        except ValueError:
            self.add(path, f"{value!r} is not a valid duration")
            return 0.0

    def string_map(self, value: Any, path: Path, what: str) -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.add(path, f"{what}s must be a mapping of names to strings")
            return ()
        out = []
        for name, text in value.items():
            if isinstance(text, dict | list):
                self.add((*path, name), f"{what} {name!r} must be a string")
                continue
            if not LABEL_NAME.match(name) or (what == "label" and name == "__name__"):
                self.add((*path, name), f"invalid {what} name: {name}", key=True)
            out.append((name, "" if text is None else _scalar(text)))
        return tuple(sorted(out))

    def group(self, raw: Any, path: Path, seen: set[str]) -> GroupSpec | None:
        body = self.mapping(raw, path, _GROUP_KEYS)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            self.add(path, "group name must not be empty")
            name = ""
        elif name in seen:
            self.add((*path, "name"), f'group name "{name}" is repeated in the same file')
        seen.add(name)
        interval = None
        if body.get("interval") is not None:
            interval = self.duration(body["interval"], (*path, "interval"))
        limit = body.get("limit", 0) or 0
        # Prometheus reads 0 and any negative limit as "no limit" (the evaluation does too).
        if not isinstance(limit, int) or isinstance(limit, bool):
            self.add((*path, "limit"), f"{limit!r} is not an integer")
            limit = 0
        raw_rules = body.get("rules") or []
        if not isinstance(raw_rules, list):
            self.add((*path, "rules"), "rules must be a list")
            raw_rules = []
        rules = [self.rule(r, (*path, "rules", i)) for i, r in enumerate(raw_rules)]
        return GroupSpec(
            name=name,
            file=self.file,
            rules=tuple(r for r in rules if r is not None),
            interval_s=interval,
            limit=limit,
        )

    def rule(self, raw: Any, path: Path) -> RuleSpec | None:
        body = self.mapping(raw, path, _RULE_KEYS)
        alert, record = body.get("alert"), body.get("record")
        before = len(self.problems)
        if alert and record:
            self.add(path, "only one of 'record' and 'alert' must be set")
        if not alert and not record:
            self.add(path, "one of 'record' or 'alert' must be set")
        expr = body.get("expr")
        if expr is None or expr == "":
            self.add(path, "field 'expr' must be set in rule")
            expr = ""
        else:
            expr = _scalar(expr)
            try:
                self.parse_expr(expr)
            except ValueError as err:
                self.add((*path, "expr"), f"could not parse expression: {err}")
        for_s = self.duration(body.get("for"), (*path, "for"))
        keep_s = self.duration(body.get("keep_firing_for"), (*path, "keep_firing_for"))
        labels = self.string_map(body.get("labels"), (*path, "labels"), "label")
        annotations = self.string_map(body.get("annotations"), (*path, "annotations"), "annotation")
        if record:
            record = _scalar(record)
            for key, present in (
                ("annotations", bool(annotations)),
                ("for", for_s),
                ("keep_firing_for", keep_s),
            ):
                if present:
                    self.add((*path, key), f"invalid field '{key}' in recording rule", key=True)
            if not METRIC_NAME.match(record):
                self.add((*path, "record"), f"invalid recording rule name: {record}")
        if alert:
            alert = _scalar(alert)
            for what, table in (("label", labels), ("annotation", annotations)):
                for name, text in table:
                    problem = templates.check(text, alert_name=alert)
                    if problem:
                        where = (*path, f"{what}s", name)
                        self.add(where, f"{what} {name!r}: error parsing template: {problem}")
        if len(self.problems) > before:
            return None
        return RuleSpec(
            kind="alert" if alert else "record",
            name=str(alert or record),
            expr=expr,
            for_s=for_s,
            keep_firing_for_s=keep_s,
            labels=labels,
            annotations=annotations,
        )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_rule_text(
    text: str, file: str, *, parse_expr: ExprParser | None = None
) -> list[GroupSpec]:
    """Groups in the rule-file ``text``; ``RuleFileError`` lists every problem."""
    try:
        doc, positions = load_with_positions(text)
    except YamlProblem as err:
        raise RuleFileError(
            [Problem(file, err.line, err.col, format_path(err.path), err.message)]
        ) from None
    reader = _Reader(file, positions, parse_expr or default_parser())
    root = reader.mapping(doc, (), frozenset({"groups"}))
    raw_groups = root.get("groups") or []
    if not isinstance(raw_groups, list):
        reader.add(("groups",), "groups must be a list")
        raw_groups = []
    seen: set[str] = set()
    groups = [reader.group(g, ("groups", i), seen) for i, g in enumerate(raw_groups)]
    if reader.problems:
        reader.problems.sort(key=lambda p: (p.line, p.col, p.path))
        raise RuleFileError(reader.problems)
    return [g for g in groups if g is not None]


def load_rule_file(path: str, *, parse_expr: ExprParser | None = None) -> list[GroupSpec]:
    """Read and validate one rule file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise RuleFileError(
            [Problem(path, 1, 1, "(file)", f"cannot read: {err.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise RuleFileError(
            [Problem(path, 1, 1, "(file)", "cannot read: not UTF-8 text")]
        ) from None
    return parse_rule_text(text, path, parse_expr=parse_expr)


def check_rules(files: list[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``aiwatch check rules``: promtool's report per file; 0 when all are valid, else 1."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    for path in files:
        print(f"Checking {path}", file=out)
        try:
            groups = load_rule_file(path)
        except RuleFileError as error:
            failed = True
            print("  FAILED:", file=err)
            for problem in error.problems:
                print(problem, file=err)
        else:
            count = sum(len(g.rules) for g in groups)
            print(f"  SUCCESS: {count} rules found", file=out)
        print(file=out)
    return 1 if failed else 0


def expand_rule_files(patterns: Sequence[str], *, base_dir: str = ".") -> list[str]:
    """Rule file globs, relative to ``base_dir``, to sorted file names."""
    files: list[str] = []
    for pattern in patterns:
        path = pattern if os.path.isabs(pattern) else os.path.join(base_dir, pattern)
        files += sorted(glob.glob(path))
    return files


def load_groups(patterns: Sequence[str], *, base_dir: str = ".") -> list[GroupSpec]:
    """Every group of every rule file the globs match; ``RuleFileError`` on problems."""
    specs: list[GroupSpec] = []
    for path in expand_rule_files(patterns, base_dir=base_dir):
        specs += load_rule_file(path)
    return specs
