"""``aiwatch validate SUITE.yml``: run a validation suite once and exit 0, 1 or 2."""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from aiwatch.config import ConfigError, check_config
from aiwatch.config.load import read_text
from aiwatch.config.model import Config, Target
from aiwatch.config.problems import Problem
from aiwatch.config.validation import Gate, Validation
from aiwatch.config.yamlpos import YamlProblem, load_with_positions

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``validate SUITE`` to the command line."""
    validate = sub.add_parser(
        "validate", help="run a validation suite once: thresholds and non-inferiority, for CI"
    )
    validate.add_argument("suite", metavar="SUITE", help="suite file (YAML, with validation:)")
    validate.add_argument(
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="NAME",
        help="run only the gates of this target (repeatable; default every gate)",
    )
    validate.add_argument("--junit", metavar="FILE", help="write JUnit XML results to FILE")
    validate.add_argument("--json", metavar="FILE", help="write JSON results to FILE")
    validate.add_argument(
        "--config.file",
        dest="config_file",
        metavar="FILE",
        help="also use the targets of this aiwatch config file",
    )
    validate.set_defaults(func=cmd_validate)


class UsageError(Exception):
    """A suite that cannot run: its lines are printed and the command exits 2."""

    def __init__(self, lines: Sequence[object]) -> None:
        super().__init__("\n".join(str(line) for line in lines))
        self.lines = [str(line) for line in lines]


def cmd_validate(args: argparse.Namespace) -> int:
    """Load the suite, run it, report; 0 every check held, 1 one failed, 2 cannot run."""
    try:
        for output in (args.junit, args.json):
            _writable(output)
        suite, targets, gates = load(args.suite, args.config_file, args.targets)
    except UsageError as err:
        for line in err.lines:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    from aiwatch.validation.execute import execute
    from aiwatch.validation.report import table, write_json, write_junit

    progress = _progress_bar if sys.stderr.isatty() else None
    report = asyncio.run(execute(suite, targets, gates, name=args.suite, progress=progress))
    if progress is not None:
        print(file=sys.stderr)
    if args.junit:
        write_junit(report, args.junit)
    if args.json:
        write_json(report, args.json)
    sys.stdout.write(table(report))
    return EXIT_PASSED if report.passed else EXIT_FAILED


def load(
    path: str, config_file: str | None, only: Sequence[str]
) -> tuple[Validation, tuple[Target, ...], tuple[Gate, ...]]:
    """The suite, every target it may use and the gates to run; ``UsageError`` otherwise."""
    config, warnings = _checked(path)
    if config.validation is None:
        raise UsageError([f"FAILED: {path}", Problem(path, 1, 1, "validation", "is required")])
    from aiwatch.validation.plan import problems

    try:
        _, positions = load_with_positions(read_text(path))
    except (OSError, YamlProblem) as err:  # the file changed since it was checked
        raise UsageError([f"FAILED: {path}: {err}"]) from None
    targets = config.targets
    if config_file is not None:
        lent, lent_warnings = _checked(config_file)
        _warn(lent_warnings)
        theirs = lent.targets
        names = {t.name for t in theirs}
        for i, t in enumerate(targets):
            if t.name in names:
                line, col = positions.of(("targets", i, "name"))
                message = f"target {t.name!r} is also in {config_file}: names must be unique"
                raise UsageError(
                    [f"FAILED: {path}", Problem(path, line, col, f"targets[{i}].name", message)]
                )
        targets = theirs + targets
    found = problems(config.validation, targets, file=path, positions=positions)
    if found:
        raise UsageError([f"FAILED: {path}", *found])
    # Only for a suite that runs: beside its errors, they would bury them.
    _warn(warnings)
    gates = config.validation.gates
    if only:
        names = {g.target for g in gates}
        unknown = [n for n in only if n not in names]
        if unknown:
            have = ", ".join(sorted(names))
            raise UsageError([f"no gate for target {n!r} (gates: {have})" for n in unknown])
        gates = tuple(g for g in gates if g.target in only)
    return config.validation, targets, gates


def _checked(path: str) -> tuple[Config, list[Problem]]:
    try:
        return check_config(path)
    except ConfigError as err:
        raise UsageError([f"FAILED: {path}", *err.problems]) from None


def _warn(warnings: Sequence[Problem]) -> None:
    for warning in warnings:
        print(f"WARNING: {warning}", file=sys.stderr)


def _writable(path: str | None) -> None:
    """Refuse an output file that cannot be written before any call is spent."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(path):
        raise UsageError([f"cannot write {path}: not a file in a writable folder"])


def _progress_bar(done: int, planned: int) -> None:
    width = 30
    filled = width * done // max(planned, 1)
    bar = "#" * filled + "." * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done}/{planned} calls")
    sys.stderr.flush()
