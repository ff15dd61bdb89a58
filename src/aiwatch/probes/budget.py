"""Probe budgets: the tokens and USD a target, and all targets together, may spend a UTC day."""

from dataclasses import dataclass
from datetime import UTC, datetime

from aiwatch.config.model import Budget, Target
from aiwatch.probes.result import ProbeResult

DAY = 86400.0
TOKENS, USD = "tokens", "usd"
"""The ``unit`` label values of ``aiwatch_probe_budget_remaining``."""


def day_of(now: float) -> int:
    """The UTC day (days since the epoch) that Unix time ``now`` falls in."""
    return int(now // DAY)


def next_day(now: float) -> float:
    """Unix time of the next UTC midnight after ``now``."""
    return (day_of(now) + 1) * DAY


def iso_day(timestamp: float) -> str:
    """Unix seconds as RFC 3339 UTC, to the second."""
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


@dataclass(slots=True)
class Spent:
    """What was spent on one UTC day; a new day starts from zero."""

    day: int = -1
    tokens: int = 0
    cost: float = 0.0

    def on(self, day: int) -> "Spent":
        """This record, reset first if ``day`` is a later day than the one it counts."""
        if day != self.day:
            self.day, self.tokens, self.cost = day, 0, 0.0
        return self


def _over(budget: Budget | None, spent: Spent, what: str) -> str | None:
    if budget is None:
        return None
    if budget.tokens_per_day is not None and spent.tokens >= budget.tokens_per_day:
        return f"{what} tokens_per_day {budget.tokens_per_day} spent ({spent.tokens} tokens today)"
    if budget.cost_per_day is not None and spent.cost >= budget.cost_per_day:
        return f"{what} cost_per_day {budget.cost_per_day:g} USD spent ({spent.cost:.6g} USD today)"
    return None


class Budgets:
    """Spending per target and in total, and whether a target's probes must pause.

    Pure bookkeeping: the scheduler tells it what each probe spent and asks before each probe.
    Tokens are input plus output tokens (estimated ones included); cost is the probe's cost.
    """

    def __init__(self) -> None:
        self.overall: Budget | None = None
        """``global.budget``: what all targets of this instance may spend together."""
        self.total = Spent()
        self.by_target: dict[str, Spent] = {}

    def _spent(self, name: str, day: int) -> Spent:
        spent = self.by_target.get(name)
        if spent is None:
            spent = self.by_target[name] = Spent()
        return spent.on(day)

    def spend(self, target: Target, result: ProbeResult, now: float) -> None:
        """Count what one probe of ``target`` spent."""
        if target.budget is None and self.overall is None:
            return  # nothing to count against: spending counts from when a budget applies
        tokens = (result.input_tokens or 0) + (result.output_tokens or 0)
        cost = result.cost_usd or 0.0
        if not tokens and not cost:
            return
        day = day_of(now)
        for spent in (self._spent(target.name, day), self.total.on(day)):
            spent.tokens += tokens
            spent.cost += cost

    def exhausted(self, target: Target, now: float) -> str | None:
        """Why ``target``'s probes pause now (which budget is spent), or None."""
        if target.budget is None and self.overall is None:
            return None
        day = day_of(now)
        return _over(target.budget, self._spent(target.name, day), "budget") or _over(
            self.overall, self.total.on(day), "global.budget"
        )

    def remaining(self, target: Target, now: float) -> dict[str, float]:
        """Per unit, what ``target`` may still spend today: the least of its own budget and
        the global one; only units that either budget sets."""
        if target.budget is None and self.overall is None:
            return {}
        day = day_of(now)
        out: dict[str, float] = {}
        for budget, spent in (
            (target.budget, self._spent(target.name, day)),
            (self.overall, self.total.on(day)),
        ):
            if budget is None:
                continue
            if budget.tokens_per_day is not None:
                left = float(max(budget.tokens_per_day - spent.tokens, 0))
                out[TOKENS] = min(out.get(TOKENS, left), left)
            if budget.cost_per_day is not None:
                left = max(budget.cost_per_day - spent.cost, 0.0)
                out[USD] = min(out.get(USD, left), left)
        return out

    def forget(self, names: set[str]) -> None:
        """Drop the records of targets no longer configured."""
        for name in [n for n in self.by_target if n not in names]:
            del self.by_target[name]
