"""A validation run's results as a table for people, JUnit XML for CI, and JSON.

JUnit: one ``testsuite`` per gate (and one for the budget), one ``testcase`` per threshold or
margin, a ``failure`` naming the threshold, what was observed and the limit. GitLab, GitHub
test reporters and Jenkins show it as test results.
"""

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiwatch.validation.evaluate import Outcome


@dataclass(frozen=True)
class Report:
    """Everything a run found, in the order of the suite's gates."""

    suite: str
    outcomes: tuple[Outcome, ...]
    summaries: dict[str, dict[str, Any]]
    """Each arm's figures (``evaluate.summary``), by arm label."""
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether every threshold, margin and the budget held."""
        return all(o.ok for o in self.outcomes)


def table(report: Report) -> str:
    """A fixed-width table: gate, check, observed, limit, result; then a one-line verdict."""
    header = ("TARGET", "CHECK", "OBSERVED", "LIMIT", "RESULT")
    rows = [
        (o.gate, o.name, o.observed, o.limit, "ok" if o.ok else "FAIL") for o in report.outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    failed = [o for o in report.outcomes if not o.ok]
    lines.append("")
    if failed:
        lines.append(f"FAILED: {len(failed)} of {len(report.outcomes)} checks")
        lines.extend(f"  {o.gate}: {o.message}" for o in failed)
    else:
        lines.append(f"PASSED: {len(report.outcomes)} checks")
    return "\n".join(lines) + "\n"


def junit(report: Report) -> bytes:
    """The report as JUnit XML (the Jenkins/Surefire schema GitLab and GitHub read)."""
    groups: dict[str, list[Outcome]] = {}
    for o in report.outcomes:
        groups.setdefault(o.gate, []).append(o)
    failures = sum(not o.ok for o in report.outcomes)
    root = ET.Element(
        "testsuites",
        name=report.suite,
        tests=str(len(report.outcomes)),
        failures=str(failures),
        errors="0",
        time=f"{report.seconds:.3f}",
    )
    for gate, outcomes in groups.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=gate,
            tests=str(len(outcomes)),
            failures=str(sum(not o.ok for o in outcomes)),
            errors="0",
            skipped="0",
        )
        for o in outcomes:
            case = ET.SubElement(
                suite, "testcase", name=o.name, classname=f"aiwatch.validate.{gate}"
            )
            if not o.ok:
                failure = ET.SubElement(case, "failure", type="threshold", message=o.message)
                failure.text = json.dumps(o.values, sort_keys=True, default=str)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def to_json(report: Report) -> dict[str, Any]:
    """The report as a JSON document: verdict, every outcome with its numbers, each arm."""
    return {
        "suite": report.suite,
        "passed": report.passed,
        "seconds": report.seconds,
        "checks": [
            {
                "target": o.gate,
                "name": o.name,
                "passed": o.ok,
                "observed": o.observed,
                "limit": o.limit,
                "message": o.message,
                "values": o.values,
            }
            for o in report.outcomes
        ],
        "arms": report.summaries,
    }


def write_json(report: Report, path: str) -> None:
    """Write :func:`to_json` to ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_json(report), fh, indent=2, default=str)
        fh.write("\n")


def write_junit(report: Report, path: str) -> None:
    """Write :func:`junit` to ``path``."""
    with open(path, "wb") as fh:
        fh.write(junit(report))


def outcomes_in_order(gates: Sequence[list[Outcome]], budget: Outcome) -> tuple[Outcome, ...]:
    """Each gate's outcomes in the suite's order, then the budget."""
    return (*[o for g in gates for o in g], budget)
