"""The ``on_fail: incident`` watch on its own: which alerts it sends, and when, on a fake clock."""

import random
from collections.abc import Sequence
from typing import Any

from aiwatch.experiments.onfail import FailureWatch
from aiwatch.experiments.tracker import Live
from aiwatch.incidents.lifecycle import Alert
from aiwatch.stats import Mean
from tests.clock import FakeClock

from .helpers import experiment_config


class MemoryStore:
    """Keeps every batch of alerts it is handed."""

    def __init__(self) -> None:
        self.batches: list[list[Alert]] = []

    async def observe(self, alerts: Sequence[Alert]) -> object:
        """Record ``alerts``."""
        self.batches.append(list(alerts))
        return None


def canary(**overrides: Any) -> Live:
    """A running canary experiment (latency by observations, 10 % margin) with no data."""
    doc = {
        "name": "rollout",
        "type": "canary",
        "on_fail": "incident",
        "control": "stable",
        "variants": [{"name": "stable"}, {"name": "canary"}],
        "metrics": [
            {"name": "latency", "source": "observations", "goal": "decrease", "margin": 0.1}
        ],
        "min_samples": 10,
        **overrides,
    }
    return Live(experiment_config([doc]).experiments[0], "running", started_at=0.0)


def slower(live: Live, factor: float) -> None:
    """Give the arms 30 latencies each, the canary's ``factor`` times the baseline's."""
    rng = random.Random(1)
    live.arms[("stable", "latency")] = Mean.from_values(rng.gauss(1.0, 0.1) for _ in range(30))
    live.arms[("canary", "latency")] = Mean.from_values(
        rng.gauss(factor, factor / 10) for _ in range(30)
    )
    live.changed()


def states(store: MemoryStore) -> list[list[tuple[str, str, float]]]:
    """Each batch as (experiment, state, time)."""
    return [[(a.labels["experiment"], a.state, a.at) for a in batch] for batch in store.batches]


async def test_only_changes_are_sent_and_the_first_check_resolves_leftovers() -> None:
    """The first check resolves (a previous run's incident may be open); then nothing is sent
    until the verdict turns fail (firing, at the clock's time), and again only when it stops
    failing; a pause resolves it too."""
    clock, store, live = FakeClock(1000.0), MemoryStore(), canary()
    watch = FailureWatch(store, lambda: [live], clock=clock.now)
    await watch.check()
    assert states(store) == [[("rollout", "resolved", 1000.0)]]
    await watch.check()
    assert len(store.batches) == 1
    slower(live, 3.0)
    clock.t = 1005.0
    await watch.check()
    await watch.check()
    assert states(store)[1:] == [[("rollout", "firing", 1005.0)]]
    firing = store.batches[1][0]
    assert firing.labels == {
        "alertname": "ExperimentFailed",
        "experiment": "rollout",
        "type": "canary",
        "severity": "critical",
    }
    assert firing.annotations == {"summary": "rollout: canary fails on latency"}
    clock.t = 1010.0
    live.state = "paused"
    await watch.check()
    assert states(store)[2:] == [[("rollout", "resolved", 1010.0)]]
    assert store.batches[2][0].fingerprint == firing.fingerprint


async def test_a_removed_failing_experiment_is_resolved_and_others_are_ignored() -> None:
    """An experiment that disappears while failing gets its resolve; experiments without
    ``on_fail: incident`` are never reported."""
    clock, store = FakeClock(50.0), MemoryStore()
    failing, quiet = canary(), canary(name="quiet", on_fail="none")
    slower(failing, 3.0)
    slower(quiet, 3.0)
    present = [failing, quiet]
    watch = FailureWatch(store, lambda: list(present), clock=clock.now)
    await watch.check()
    assert states(store) == [[("rollout", "firing", 50.0)]]
    present.remove(failing)
    clock.t = 60.0
    await watch.check()
    assert states(store)[1:] == [[("rollout", "resolved", 60.0)]]
    assert store.batches[1][0].fingerprint == store.batches[0][0].fingerprint
