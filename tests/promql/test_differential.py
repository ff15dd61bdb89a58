"""Randomized differential test: aiwatch's PromQL against the real ``promtool test rules``."""

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.promql.differential import (
    EVALUATION_INTERVAL_S,
    STEPS,
    Case,
    Group,
    agrees,
    evaluate,
    go_duration,
    make_series,
    parse_failures,
    write_test_file,
)
from tests.promql.grammar import Grammar

SEED = 20240601
GROUPS = 120
CASES_PER_GROUP = 25
FILES = 4  # run two promtool processes at a time
CANARY = "vector(1) * 1"


def _groups(rng: random.Random) -> list[Group]:
    groups = []
    seen: set[tuple[str, int]] = set()
    for _ in range(GROUPS):
        group = Group(series=make_series(rng), interval_s=rng.choice((15, 30, 60, 60)))
        while len(group.cases) < CASES_PER_GROUP:
            # Up to a few minutes past the last sample, so that the lookback runs out.
            eval_s = rng.randint(3, STEPS + 6) * group.interval_s + rng.choice((0, 0, 7, 15, 30))
            grammar = Grammar(rng, max_eval_s=eval_s)
            depth = rng.choice((1, 2, 2, 3))
            expr = grammar.vector(depth) if rng.random() < 0.9 else grammar.scalar(2)
            # promtool's report names a case by expression and time only: keep pairs unique.
            key = (expr, eval_s)
            if key in seen:
                continue
            seen.add(key)
            group.cases.append(Case(expr=expr, eval_s=eval_s))
        # promtool loads samples only up to the last evaluation-interval step at or before
        # the group's latest eval_time; a late extra case makes it load all of them.
        step = EVALUATION_INTERVAL_S
        last_s = -(-(STEPS + 10) * group.interval_s // step) * step
        group.cases.append(Case(expr=f"vector({len(groups)})", eval_s=last_s))
        evaluate(group)
        groups.append(group)
    # A canary with a deliberately wrong expectation proves that disagreement is detected.
    groups[0].cases.append(Case(expr=CANARY, eval_s=60, result=[({}, 2.0)]))
    return groups


def _run_promtool(promtool: str, files: list[Path]) -> str:
    procs = [
        subprocess.Popen(
            [promtool, "test", "rules", str(f)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for f in files
    ]
    return "\n".join(p.communicate(timeout=120)[0] for p in procs)


def test_aiwatch_agrees_with_promtool_on_random_queries(tmp_path: Path) -> None:
    """Hundreds of generated queries give the same samples (1e-9 relative) or both error."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed; CI installs it")
    groups = _groups(random.Random(SEED))
    by_file: list[list[Group]] = [groups[i::FILES] for i in range(FILES)]
    problems: list[str] = []
    total = 0
    for batch in (range(0, FILES, 2), range(1, FILES, 2)):
        files = []
        for i in batch:
            path = tmp_path / f"diff{i}.yml"
            write_test_file(path, by_file[i])
            files.append(path)
        output = _run_promtool(promtool, files)
        assert "Unit Testing" in output, output[:2000]
        failures = parse_failures(output)
        for i in batch:
            for group in by_file[i]:
                for case in group.cases:
                    total += 1
                    verdict = failures.get((case.expr, go_duration(case.eval_s)))
                    problem = agrees(case, verdict)
                    if case.expr == CANARY:
                        assert problem is not None, "the harness missed a wrong expectation"
                        continue
                    if problem is not None:
                        problems.append(f"{case.expr} @ {case.eval_s}s: {problem}")
    assert total >= 500
    # Guard against a generator drifting into trivial cases: most must return samples.
    non_empty = sum(1 for g in groups for c in g.cases if c.result)
    assert non_empty >= total // 2, f"only {non_empty} of {total} cases returned samples"
    assert not problems, f"{len(problems)} of {total} cases differ:\n" + "\n".join(problems[:40])
