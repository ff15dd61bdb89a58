"""One validation run from start to report: plan, call, judge."""

import time
from collections.abc import Sequence

from aiwatch.config.model import Target
from aiwatch.config.validation import Gate, Validation
from aiwatch.validation.evaluate import budget_outcome, judge, summary
from aiwatch.validation.plan import plan
from aiwatch.validation.report import Report, outcomes_in_order
from aiwatch.validation.runner import Budget, Progress, run_calls


async def execute(
    suite: Validation,
    targets: Sequence[Target],
    gates: Sequence[Gate],
    *,
    name: str,
    progress: Progress | None = None,
) -> Report:
    """Run ``gates`` of ``suite`` against ``targets`` within the suite's budget."""
    started = time.monotonic()
    calls = plan(suite, targets, gates)
    budget = Budget(max_calls=suite.max_calls, max_cost=suite.max_cost)
    run = await run_calls(calls, concurrency=suite.concurrency, budget=budget, progress=progress)
    judged = [judge(g, run.results, alpha=suite.alpha) for g in gates]
    spent = budget_outcome(
        started=budget.started, planned=len(calls), stopped_by=budget.stopped_by, cost=budget.cost
    )
    return Report(
        suite=name,
        outcomes=outcomes_in_order(judged, spent),
        summaries={arm.label: summary(results) for arm, results in run.results.items()},
        seconds=time.monotonic() - started,
    )
