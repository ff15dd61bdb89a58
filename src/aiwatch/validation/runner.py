"""Make a validation run's calls: the probes' own code path, bounded by concurrency and budget.

Each call is ``probes.run.run_probe`` through a session ``probes.run.make_session`` built for
its target, so a validation call measures exactly what a scheduled probe measures.
"""

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from aiwatch.probes.result import ProbeResult
from aiwatch.probes.run import make_session, run_probe
from aiwatch.validation.plan import Arm, Call


@dataclass
class Budget:
    """The run's hard limits and what has been spent.

    No call starts once ``max_calls`` have started. With ``max_cost``, a call starts only if
    the cost so far plus, for it and every call in flight, the dearest call seen so far stays
    within ``max_cost``; until a first cost is known, one call at a time.
    """

    max_calls: int
    max_cost: float | None = None
    started: int = 0
    cost: float = 0.0
    in_flight: int = 0
    dearest: float | None = None
    stopped_by: str | None = None
    """``max_calls`` or ``max_cost`` when the budget cut the run short."""

    def admit(self) -> str:
        """``go`` (one more call fits), ``wait`` (for a call in flight), or ``stop``."""
        if self.started >= self.max_calls:
            self.stopped_by = "max_calls"
            return "stop"
        if self.max_cost is None:
            return "go"
        if self.dearest is None:
            return "go" if self.in_flight == 0 else "wait"
        if self.cost + (self.in_flight + 1) * self.dearest <= self.max_cost:
            return "go"
        if self.in_flight > 0:
            return "wait"
        self.stopped_by = "max_cost"
        return "stop"

    def spend(self, cost: float | None) -> None:
        """A call finished, costing ``cost`` (``None``: the target has no price)."""
        self.in_flight -= 1
        spent = cost or 0.0
        self.cost += spent
        self.dearest = spent if self.dearest is None else max(self.dearest, spent)


@dataclass
class Run:
    """What a run collected: each arm's results in the order they finished."""

    results: dict[Arm, list[ProbeResult]] = field(default_factory=dict)
    planned: int = 0


Progress = Callable[[int, int], None]
"""Called with ``(calls done, calls planned)`` after each call."""


async def run_calls(
    calls: Sequence[Call],
    *,
    concurrency: int,
    budget: Budget,
    progress: Progress | None = None,
) -> Run:
    """Make ``calls`` in order, at most ``concurrency`` at a time, never beyond ``budget``."""
    run = Run(results={c.arm: [] for c in calls}, planned=len(calls))
    queue = list(reversed(calls))
    wake = asyncio.Condition()
    async with contextlib.AsyncExitStack() as stack:
        sessions: dict[str, aiohttp.ClientSession] = {}
        for call in calls:
            if call.target.name not in sessions:
                session = make_session(call.target)
                sessions[call.target.name] = await stack.enter_async_context(session)

        async def worker() -> None:
            while (call := await _next()) is not None:
                result = await run_probe(
                    call.target, sessions[call.target.name], prompt_index=call.prompt_index
                )
                async with wake:
                    budget.spend(result.cost_usd)
                    run.results[call.arm].append(result)
                    wake.notify_all()
                if progress is not None:
                    progress(budget.started - budget.in_flight, len(calls))

        async def _next() -> Call | None:
            async with wake:
                while queue:
                    verdict = budget.admit()
                    if verdict == "stop":
                        return None
                    if verdict == "go":
                        budget.started += 1
                        budget.in_flight += 1
                        return queue.pop()
                    await wake.wait()
                return None

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return run
