"""Read a config file: YAML, ``${ENV}`` substitution, JSON Schema, secrets, then dataclasses."""

import copy
import glob
import json
import math
import os
import re
from datetime import date
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlparse

import jsonschema

from aiwatch.config.build import build_config
from aiwatch.config.hints import did_you_mean, shape_hint, unknown_key
from aiwatch.config.images import load_prompt_files
from aiwatch.config.model import Config
from aiwatch.config.problems import ConfigError, Problem
from aiwatch.config.warnings import config_warnings
from aiwatch.config.yamlpos import Path, Positions, YamlProblem, format_path, load_with_positions
from aiwatch.durations import is_duration
from aiwatch.golang import regexp
from aiwatch.matchers import parse_matcher
from aiwatch.redaction import REDACTED, redact_urls_in

# Keys whose values are secrets; each has a ``<key>_file`` twin.
SECRET_KEYS = frozenset({"api_key", "password", "bearer_token", "apprise"})
# ``$$``, a ``${NAME}`` reference, or a ``${`` that starts none (group 2): a mistake to report.
_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|(\$\{)")


_STRING_HINT = " (a ${NAME} reference always gives a string)"
_PROMPT_SHAPES = (
    "a prompt is a non-empty string, a list of {role, content}, {text, images} or {folder, text}"
)


@cache
def schema() -> dict[str, Any]:
    """The config JSON Schema shipped with the package."""
    text = resources.files("aiwatch.config").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker([])

    @checker.checks("regex", raises=ValueError)
    def _regex(value: object) -> bool:
        # Go's syntax, as every regex aiwatch compiles (not jsonschema's Python ``re``).
        if isinstance(value, str):
            regexp.compile(value)
        return True

    @checker.checks("duration")
    def _duration(value: object) -> bool:
        return not isinstance(value, str) or is_duration(value)

    @checker.checks("http-url")
    def _url(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = urlparse(value)
        return parsed.scheme in ("http", "https") and bool(parsed.netloc)

    @checker.checks("matcher", raises=ValueError)
    def _matcher(value: object) -> bool:
        if isinstance(value, str):
            parse_matcher(value)
        return True

    return checker


class _Collector:
    def __init__(self, file: str, positions: Positions) -> None:
        self.file, self.positions, self.problems = file, positions, list[Problem]()
        # Values that came from ``${NAME}`` references, and those naming an unset variable.
        self.substituted: set[Path] = set()
        self.unset: set[Path] = set()

    def add(self, path: Path, message: str, *, key: bool = False) -> None:
        line, col = self.positions.of(path, key=key)
        # Problems are logged and answered to /-/reload: a URL they quote keeps its secrets.
        message = redact_urls_in(message)
        self.problems.append(Problem(self.file, line, col, format_path(path), message))


def read_text(path: str) -> str:
    """A UTF-8 text file; ``OSError`` (with a readable ``strerror``) for anything unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as err:
        raise OSError(0, "not UTF-8 text") from err


def load_config(path: str, *, env: dict[str, str] | None = None) -> Config:
    """Load and validate ``path``; raise ``ConfigError`` listing every problem."""
    return check_config(path, env=env)[0]


def check_config(path: str, *, env: dict[str, str] | None = None) -> tuple[Config, list[Problem]]:
    """Load and validate ``path``: the config and its warnings, or ``ConfigError`` with every
    problem of every phase (YAML, schema, cross-key, rule files, routes) at once."""
    try:
        text = read_text(path)
    except OSError as err:
        raise ConfigError([Problem(path, 1, 1, "(file)", f"cannot read: {err.strerror}")]) from None
    config, positions, problems = _parse(text, path, env=os.environ.copy() if env is None else env)
    alerting = 0
    if config is not None and positions is not None:
        if _routes_intact(config):
            # An unset ${VAR} is already named; the empty URL it left is not a second problem.
            unset = {(p.line, p.col) for p in problems if "environment variable" in p.message}
            problems += [
                p for p in _route_problems(config, positions) if (p.line, p.col) not in unset
            ]
        rule_problems, alerting = _rule_file_problems(config, positions)
        problems += rule_problems
    if problems or config is None or positions is None:
        raise ConfigError(_ordered(problems, path))
    return config, config_warnings(config, positions, text=text, alerting_rules=alerting)


def _ordered(problems: list[Problem], path: str) -> list[Problem]:
    """Each problem once, by place in the file (rule files' after the config's own)."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file != path, p.file, p.line, p.col, p.path))


def _routes_intact(config: Config) -> bool:
    """Every route item was built (route checks name routes by their index)."""
    routes = config.raw.get("notifications", {}).get("routes", [])
    return len(routes) == len(config.notifications.routes)


def _rule_file_problems(config: Config, positions: Positions) -> tuple[list[Problem], int]:
    """The rule files a config names are part of it: a broken one makes the config invalid.

    As ``promtool check config``: a pattern with a ``*`` may match nothing, but a plain file
    name must name a file (a typo would otherwise silently load no rules).
    """
    from aiwatch.rules.files import RuleFileError, load_groups

    base_dir = os.path.dirname(os.path.abspath(config.path))
    missing = []
    for i, pattern in enumerate(config.rule_files):
        if "*" not in pattern and not glob.glob(os.path.join(base_dir, pattern)):
            line, col = positions.of(("rule_files", i))
            message = f"{pattern!r} does not point to an existing file"
            missing.append(Problem(config.path, line, col, f"rule_files[{i}]", message))
    try:
        groups = load_groups(config.rule_files, base_dir=base_dir)
    except RuleFileError as err:
        return missing + list(err.problems), 0
    return missing, sum(rule.kind == "alert" for group in groups for rule in group.rules)


def _route_problems(config: Config, positions: Positions) -> list[Problem]:
    """Routes that can never deliver: a URL Apprise cannot parse, an unusable apprise_config.

    Like Alertmanager with a receiver URL it cannot parse, the config is refused rather than
    failing at the first incident. Messages name the key, never the URL: it is a secret.
    """
    if not config.notifications.routes:
        return []
    # Imported here: Apprise takes a while to load, and configs without routes never need it.
    from aiwatch.notify.deliver import route_problems

    base_dir = os.path.dirname(os.path.abspath(config.path))
    out = []
    for i, route in enumerate(config.notifications.routes):
        for problem in route_problems(route, base=base_dir):
            path = ("notifications", "routes", i, *problem.key)
            line, col = positions.of(path)
            if problem.key[0] == "apprise" and path not in positions.values:
                # The URLs came from apprise_file: point at that key.
                line, col = positions.of((*path[:3], "apprise_file"), key=True)
            out.append(Problem(config.path, line, col, format_path(path), problem.message))
    return out


def parse_config(text: str, path: str, *, env: dict[str, str]) -> Config:
    """Validate the YAML ``text`` of the file ``path``; the heart of ``load_config``."""
    config, _, problems = _parse(text, path, env=env)
    if problems or config is None:
        raise ConfigError(_ordered(problems, path))
    return config


def _parse(
    text: str, path: str, *, env: dict[str, str]
) -> tuple[Config | None, Positions | None, list[Problem]]:
    """The config (built from what is valid, so cross-key checks run even beside schema
    problems), where each node is, and every problem found."""
    try:
        doc, positions = load_with_positions(text)
    except YamlProblem as err:
        return None, None, [Problem(path, err.line, err.col, format_path(err.path), err.message)]
    out = _Collector(path, positions)
    doc = _substitute({} if doc is None else _without_nulls(doc), (), env, out)
    invalid = _validate(doc, out)
    _finite(doc, (), out, invalid)
    base_dir = os.path.dirname(os.path.abspath(path))
    _resolve_secrets(doc, (), base_dir, out)
    if not isinstance(doc, dict):
        return None, positions, out.problems
    files = load_prompt_files(doc, base_dir, out.add)
    # Without the invalid values (defaults stand in for them), so that a bad interval does
    # not hide a missing model; items a required key is missing from are skipped.
    cross: list[tuple[Path, str]] = []
    pruned = _prune(doc, invalid, keep_items=out.unset)
    config = build_config(
        pruned,
        path,
        lambda at, message: cross.append((at, message)),
        tolerant=bool(out.problems),
        files=files,
    )
    for at, message in cross:
        if not _about_removed(at, message, invalid | out.unset):
            out.add(at, message)
    return config, positions, out.problems


def _about_removed(at: Path, message: str, removed: set[Path]) -> bool:
    """A cross-key problem that only says a removed value is missing: ``needs apprise URLs``
    when ``apprise`` was there but invalid (its own problem says so)."""
    return any(
        len(q) == len(at) + 1
        and q[: len(at)] == at
        and isinstance(q[-1], str)
        and q[-1].removesuffix("_file") in message
        for q in removed
    )


def _prune(doc: dict[str, Any], paths: set[Path], *, keep_items: set[Path]) -> dict[str, Any]:
    """``doc`` without the values at ``paths``: a key is removed; a list item is removed
    from a list of plain values, and replaced by None in a list of mappings (whose
    positions the cross-key checks still name). ``keep_items`` are list items kept."""
    pruned: dict[str, Any] = copy.deepcopy(doc)
    ordered = sorted(paths | keep_items, key=lambda p: [(isinstance(x, int), x) for x in p])
    for path in reversed(ordered):
        if not path or (path in keep_items and isinstance(path[-1], int)):
            continue
        parent: Any = pruned
        for part in path[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        last = path[-1]
        if isinstance(parent, dict):
            parent.pop(last, None)
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            if any(isinstance(item, dict) for item in parent):
                parent[last] = None
            else:
                del parent[last]
    return pruned


def _without_nulls(value: Any) -> Any:
    """A key with no value is a key left out, as in Prometheus' and Alertmanager's configs.

    So ``global:`` with every line under it commented out means the defaults. No key takes
    null as a value; a null list item stays, and stays an error.
    """
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _substitute(value: Any, path: Path, env: dict[str, str], out: _Collector) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), env, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), env, out) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    malformed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if match.group(2):
            malformed.append(match.group(0))
            return match.group(0)
        if name is None:
            return "$"
        out.substituted.add(path)
        if name not in env:
            out.add(path, f"environment variable {name} is not set")
            out.unset.add(path)
            return ""
        return env[name]

    result = _ENV.sub(replace, value)
    if malformed:
        # The value is not quoted back: it may be a secret with a stray "${" in it.
        out.add(path, "invalid environment reference: write ${NAME}, or $$ for a literal $")
    return result


def _finite(value: Any, path: Path, out: _Collector, invalid: set[Path]) -> None:
    """No ``.inf`` or ``.nan`` anywhere: no key of the config means them, and they poison sums."""
    if isinstance(value, float) and not math.isfinite(value):
        out.add(path, f"{value} is not a finite number")
        invalid.add(path)
        return
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            _finite(child, (*path, key), out, invalid)


def _validate(doc: Any, out: _Collector) -> set[Path]:
    """Report every schema problem; the paths of the values that are invalid."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=_checker())
    invalid: set[Path] = set()
    for error in validator.iter_errors(doc):
        where = tuple(error.absolute_path)
        # An unset ${VAR} left "" behind: it is already reported, and pruning it would make
        # a list that is required to have items look empty.
        if error.validator not in ("required", "additionalProperties") and where not in out.unset:
            invalid.add(where)
        for path, message, key in _describe(error):
            if key:
                invalid.add(path)
            if path in out.unset:
                continue  # "environment variable X is not set" already says what is wrong
            # ``max_body_bytes: ${N}`` gives the string "100", not the number 100.
            hint = error.validator == "type" and path in out.substituted
            out.add(path, message + (_STRING_HINT if hint else ""), key=key)
    return invalid


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML: ``null`` and ``true``, not Python's names."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return repr(value)


def _is_secret(path: Path) -> bool:
    """Whether ``path`` is, or is inside, a secret (or a header, whose values all are)."""
    return any(part in SECRET_KEYS or part == "headers" for part in path if isinstance(part, str))


def _describe(error: jsonschema.ValidationError) -> list[tuple[Path, str, bool]]:
    path: Path = tuple(error.absolute_path)
    value = error.instance
    if error.validator == "type" and _is_secret(path):
        # ``api_key: 123456`` is a number to YAML, and still a key: never print it.
        return [(path, f"{REDACTED} is not of type {error.validator_value!r}", False)]
    if error.validator == "additionalProperties" and isinstance(value, dict):
        schema_node: Any = error.schema
        known = sorted(schema_node.get("properties", {}))
        return [
            ((*path, k), unknown_key(k, known, path, schema()), True)
            for k in value
            if k not in known
        ]
    if error.validator == "format":
        what = {"http-url": "http(s) URL", "regex": "regular expression"}
        fmt = str(error.validator_value)
        if fmt == "matcher":
            try:
                parse_matcher(str(value))
            except ValueError as err:
                return [(path, str(err), False)]
        if fmt == "regex":
            try:
                regexp.compile(str(value))
            except ValueError as err:
                return [(path, f"{value!r} is not a valid regular expression: {err}", False)]
        return [(path, f"{value!r} is not a valid {what.get(fmt, fmt)}", False)]
    if error.validator == "not" and isinstance(value, str):
        # Only positive_duration uses "not": a zero duration. An invalid one already has its
        # format error.
        return (
            [(path, f"must be greater than 0, not {value!r}", False)] if is_duration(value) else []
        )
    if error.validator == "minLength" and value == "":
        return [(path, "must not be empty", False)]
    if error.validator == "required":
        return [(path, error.message.replace("is a required property", "is required"), False)]
    if error.validator == "enum":
        enum_values: Any = error.validator_value
        options = ", ".join(json.dumps(v) for v in enum_values)
        hint = did_you_mean(value, [str(v) for v in enum_values]) if isinstance(value, str) else ""
        return [(path, f"{_show(value)} is not one of {options}{hint}", False)]
    if error.validator == "type":
        schema_node = error.schema
        if isinstance(schema_node, dict) and schema_node.get("format") == "duration":
            message = f"{_show(value)} is not a valid duration (a string with a unit, e.g. 30s)"
        else:
            message = f"{_show(value)} is not of type {error.validator_value!r}"
            message += shape_hint(value, error.validator_value)
            if isinstance(value, date) and error.validator_value == "string":
                # An unquoted 2026-11-29 is a timestamp to YAML; quoted, it is the string.
                message += " (YAML reads it as a date: quote it)"
        return [(path, message, False)]
    if error.validator == "pattern":
        return [(path, f"{value!r} does not match {error.validator_value!r}", False)]
    if error.validator == "oneOf" and path and path[-2:-1] == ("prompts",):
        return [(path, _PROMPT_SHAPES, False)]
    if error.validator == "propertyNames":
        return [(path, f"invalid label name: {error.message}", False)]
    return [(path, error.message, False)]


def _resolve_secrets(value: Any, path: Path, base: str, out: _Collector) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _resolve_secrets(item, (*path, i), base, out)
        return
    if not isinstance(value, dict):
        return
    for key in SECRET_KEYS:
        file_key = f"{key}_file"
        if not isinstance(value.get(file_key), str) or not value[file_key]:
            continue  # the schema reports a non-string or an empty file name
        if key in value:
            out.add((*path, file_key), f"{key} and {file_key} are mutually exclusive", key=True)
            continue
        file_path = os.path.join(base, value[file_key])
        try:
            content = read_text(file_path)
        except OSError as err:
            out.add(
                (*path, file_key), f"cannot read secret file {value[file_key]!r}: {err.strerror}"
            )
            continue
        if not content.strip():
            # An empty file is almost always a secret that was not mounted or written yet.
            out.add((*path, file_key), f"secret file {value[file_key]!r} is empty")
            continue
        if key == "apprise":
            # One URL per line; blank lines and ``#`` comments are skipped.
            lines = (line.strip() for line in content.splitlines())
            value[key] = [line for line in lines if line and not line.startswith("#")]
        else:
            value[key] = content.rstrip("\r\n")
        del value[file_key]
    for key, child in value.items():
        _resolve_secrets(child, (*path, key), base, out)


def schema_problems(doc: Any) -> list[tuple[Path, str]]:
    """Every schema problem of a whole config document, with the config file's messages."""
    validator = jsonschema.Draft202012Validator(schema(), format_checker=_checker())
    return [
        (path, message)
        for error in validator.iter_errors(doc)
        for path, message, _ in _describe(error)
    ]
