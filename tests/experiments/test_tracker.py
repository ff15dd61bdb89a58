"""The tracker: states and arms in memory, written through to SQLite, kept across restarts."""

import dataclasses

import pytest

from aiwatch.experiments import storage
from aiwatch.experiments.lifecycle import IllegalTransition
from aiwatch.experiments.tracker import Tracker
from aiwatch.incidents.store import IncidentStore
from aiwatch.probes.scheduler import failed_result
from aiwatch.stats import Mean, Proportion

from .conftest import OpenStore
from .helpers import experiment_config, rating_experiment


async def _tracker(store: IncidentStore, *experiments: object, now: float = 1000.0) -> Tracker:
    tracker = Tracker(store=store, clock=lambda: now)
    await tracker.update(experiments or (rating_experiment(),))  # type: ignore[arg-type]
    return tracker


async def test_observations_and_state_survive_a_restart(
    open_store: OpenStore,
) -> None:
    """Posted sums and a lifecycle move are in the next process's tracker, unchanged."""
    first = await open_store()
    tracker = await _tracker(first)
    await tracker.observe("prompts", {("b", "rating"): Mean(n=3, sum=12.0, sum_squares=50.0)})
    await tracker.observe("prompts", {("b", "rating"): Mean(n=1, sum=5.0, sum_squares=25.0)})
    await tracker.act("prompts", "pause")
    await first.close()

    again = await _tracker(await open_store(), now=2000.0)
    live = again.live["prompts"]
    assert live.arms[("b", "rating")] == Mean(n=4, sum=17.0, sum_squares=75.0)
    assert live.state == "paused"
    assert live.started_at == 1000.0
    assert live.result().row(variant="b", metric="rating").mean == pytest.approx(4.25)


async def test_config_state_applies_only_at_first_sight(
    open_store: OpenStore,
) -> None:
    """An experiment configured as draft starts as draft; once moved, the stored state wins."""
    store = await open_store()
    tracker = await _tracker(store, rating_experiment(state="draft"))
    assert tracker.live["prompts"].state == "draft"
    assert tracker.live["prompts"].started_at is None
    await tracker.act("prompts", "start")
    restarted = await _tracker(store, rating_experiment(state="draft"))
    assert restarted.live["prompts"].state == "running"


async def test_illegal_move_changes_nothing(open_store: OpenStore) -> None:
    """A stopped experiment cannot start again; its state stays stopped."""
    tracker = await _tracker(await open_store())
    await tracker.act("prompts", "stop")
    with pytest.raises(IllegalTransition):
        await tracker.act("prompts", "start")
    assert tracker.live["prompts"].state == "stopped"


async def test_reload_keeps_data_of_remaining_experiments(
    open_store: OpenStore,
) -> None:
    """A reload that changes an experiment keeps its data; a removed one leaves memory."""
    store = await open_store()
    tracker = await _tracker(store)
    await tracker.observe("prompts", {("a", "rating"): Mean(n=2, sum=2.0, sum_squares=2.0)})
    await tracker.update([rating_experiment(alpha=0.01)])
    assert tracker.live["prompts"].arms[("a", "rating")].n == 2
    assert tracker.live["prompts"].result().results[0].n == 2
    await tracker.update([])
    assert tracker.live == {}


PROBED = {
    "name": "models",
    "control": "old",
    "variants": [{"name": "old", "target": "t1"}, {"name": "new", "target": "t2"}],
    "metrics": [{"name": "latency", "source": "probe", "field": "duration"}],
    "min_samples": 2,
}
TARGETS = [
    {"name": "t1", "kind": "http", "url": "http://127.0.0.1:1/"},
    {"name": "t2", "kind": "http", "url": "http://127.0.0.1:1/"},
]


async def test_probe_results_count_while_running_and_flush_to_disk(
    open_store: OpenStore,
) -> None:
    """Probes feed a running experiment at once, persist at flush, and stop when paused."""
    config = experiment_config([PROBED], targets=TARGETS)
    store = await open_store()
    tracker = await _tracker(store, config.experiments[0])
    base = failed_result(config.targets[0], error_type=None, error="", started=0, duration=0.5)
    ok = dataclasses.replace(base, success=True)
    tracker.on_probe(ok)
    tracker.on_probe(dataclasses.replace(ok, success=False))  # counts as a unit, not a latency
    live = tracker.live["models"]
    assert live.arms[("old", "latency")] == Mean(n=1, sum=0.5, sum_squares=0.25)
    assert live.units == {"old": 2}
    await tracker.act("models", "pause")  # flushes what was gathered
    tracker.on_probe(ok)
    assert live.arms[("old", "latency")].n == 1
    saved = (await store.read(storage.load))["models"]
    assert saved.arms == {("old", "latency"): Mean(n=1, sum=0.5, sum_squares=0.25)}
    assert saved.units == {"old": 2}


async def test_an_arm_whose_kind_changed_starts_again(
    open_store: OpenStore,
) -> None:
    """After a metric's kind changes in the config, its old sums are not mixed with new ones."""
    store = await open_store()
    tracker = await _tracker(store)
    await tracker.observe("prompts", {("a", "rating"): Mean(n=2, sum=1.0, sum_squares=1.0)})
    await tracker.observe("prompts", {("a", "rating"): Proportion(n=4, successes=1.0)})
    assert tracker.live["prompts"].arms[("a", "rating")] == Proportion(n=4, successes=1.0)
    saved = (await store.read(storage.load))["prompts"]
    assert saved.arms[("a", "rating")] == Proportion(n=4, successes=1.0)


async def test_a_metric_whose_kind_changed_in_the_config_starts_from_zero(
    open_store: OpenStore,
) -> None:
    """A reload (or restart) that turns a mean into a proportion drops the old mean's sums."""
    store = await open_store()
    tracker = await _tracker(store)
    await tracker.observe("prompts", {("a", "rating"): Mean(n=2, sum=1.0, sum_squares=1.0)})
    await tracker.observe("prompts", {("a", "thumbs_up"): Proportion(n=3, successes=1.0)})
    changed = experiment_config(
        [
            {
                "name": "prompts",
                "control": "a",
                "variants": [{"name": "a"}, {"name": "b"}],
                "metrics": [
                    {"name": "rating", "source": "observations", "kind": "proportion"},
                    {"name": "thumbs_up", "source": "observations", "kind": "proportion"},
                ],
            }
        ]
    ).experiments[0]
    await tracker.update([changed])
    assert tracker.live["prompts"].arms == {("a", "thumbs_up"): Proportion(n=3, successes=1.0)}
    restarted = await _tracker(store, changed)
    assert restarted.live["prompts"].arms == {("a", "thumbs_up"): Proportion(n=3, successes=1.0)}
