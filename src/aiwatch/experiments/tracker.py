"""The daemon's experiments: their states and arms in memory, written through to the store.

Reads (the API, ``/metrics``) never touch SQLite: each experiment's arms live in memory as
running sums, and its analysis is recomputed only when they changed since the last read.
Posted observations are written before they are acknowledged; probe results, which arrive
many times a second, are folded in at once and written in one batch per ``flush_interval``.
"""

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiwatch.config.model import Experiment, ExperimentMetric
from aiwatch.experiments import collect, storage
from aiwatch.experiments.lifecycle import Action, State, collects, transition
from aiwatch.experiments.observations import Arms, check_totals, merge
from aiwatch.experiments.storage import Saved, Store
from aiwatch.probes.result import ProbeResult
from aiwatch.stats import ExperimentResult, SufficientStats

log = logging.getLogger("aiwatch.experiments")


def accumulate(arms: Arms, delta: Arms) -> None:
    """Add ``delta`` into ``arms``; an arm of another kind (a changed config) starts again."""
    for key, stats in delta.items():
        old = arms.get(key)
        arms[key] = merge(old, stats) if old is not None and type(old) is type(stats) else stats


def expected_kind(metric: ExperimentMetric) -> str:
    """How the metric's arms are stored: probe values other than success are always means."""
    if metric.source == "probe" and not collect.is_proportion(metric):
        return "mean"
    return metric.kind


def fitting(experiment: Experiment, arms: Arms) -> Arms:
    """``arms`` without those whose kind no longer matches their metric's config."""
    kinds = {m.name: expected_kind(m) for m in experiment.metrics}
    return {
        key: stats
        for key, stats in arms.items()
        if kinds.get(key[1]) in (None, storage.kind_of(stats))
    }


@dataclass(eq=False)
class Live:
    """One configured experiment: its config, state and data so far."""

    config: Experiment
    state: State
    started_at: float | None
    """When it first ran (wall clock), the start of PromQL's ``$__range``."""
    arms: Arms = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    """Probes recorded per variant: the assignment counts for the sample-ratio check."""
    version: int = 0
    _cached: tuple[int, Experiment, ExperimentResult] | None = None

    def changed(self) -> None:
        """Invalidate the cached analysis."""
        self.version += 1

    def result(self) -> ExperimentResult:
        """The analysis of the data so far (recomputed only after a change)."""
        cached = self._cached
        if cached is not None and cached[0] == self.version and cached[1] is self.config:
            return cached[2]
        probed = any(m.source == "probe" for m in self.config.metrics)
        units = self.units if probed and self.units else None
        # Here, not at the top: the statistics load SciPy, needed only once an experiment is.
        from aiwatch.stats.analysis import analyze

        result = analyze(self.config, self.arms, units=units)
        self._cached = (self.version, self.config, result)
        return result


class Tracker:
    """Every configured experiment, fed by probes, observations and PromQL."""

    def __init__(
        self,
        *,
        store: Store,
        flush_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.clock = clock
        self.live: dict[str, Live] = {}
        self._pending: dict[str, tuple[Arms, dict[str, int]]] = {}
        self._lock = asyncio.Lock()
        self._observing = asyncio.Lock()

    async def update(self, experiments: Iterable[Experiment]) -> None:
        """Apply a (re)loaded config: keep the data of experiments that remain, load new ones."""
        async with self._lock:
            wanted = {e.name: e for e in experiments}
            for name in [n for n in self.live if n not in wanted]:
                del self.live[name]
            new = [e for name, e in wanted.items() if name not in self.live]
            for name, experiment in wanted.items():
                if name in self.live:
                    live = self.live[name]
                    live.config = experiment
                    live.arms = fitting(experiment, live.arms)
                    live.changed()
            if not new:
                return
            saved = await self.store.read(storage.load)
            for experiment in new:
                self.live[experiment.name] = await self._open(
                    experiment, saved.get(experiment.name)
                )

    async def _open(self, experiment: Experiment, saved: Saved | None) -> Live:
        if saved is not None and saved.state is not None:
            return Live(
                config=experiment,
                state=saved.state,
                started_at=saved.started_at,
                arms=fitting(experiment, saved.arms),
                units=dict(saved.units),
            )
        # First sight of this experiment: its config decides the state, recorded from now on.
        now = self.clock()
        started = now if experiment.state == "running" else None
        await self.store.write(
            lambda conn: storage.set_state(
                conn, experiment.name, experiment.state, started_at=started, at=now
            )
        )
        arms = fitting(experiment, saved.arms) if saved is not None else {}
        units = dict(saved.units) if saved is not None else {}
        return Live(experiment, experiment.state, started, arms=arms, units=units)

    def on_probe(self, result: ProbeResult) -> None:
        """A scheduled probe finished: add it to every running experiment that probes its target."""
        for live in self.live.values():
            if not collects(live.state):
                continue
            variants = collect.variants_of(live.config, result.target)
            if not variants:
                continue
            # Every probe is a unit assigned to its variant, even one that adds no value
            # (a failure, for a latency metric): that is what the sample-ratio check counts.
            delta = collect.from_probe(live.config, result)
            units = dict.fromkeys(variants, 1)
            accumulate(live.arms, delta)
            for v in variants:
                live.units[v] = live.units.get(v, 0) + 1
            live.changed()
            arms, pending_units = self._pending.setdefault(live.config.name, ({}, {}))
            accumulate(arms, delta)
            for v, n in units.items():
                pending_units[v] = pending_units.get(v, 0) + n

    async def flush(self) -> None:
        """Write the probe data gathered since the last flush."""
        pending, self._pending = self._pending, {}
        if not pending:
            return

        def write(conn: sqlite3.Connection) -> None:
            for name, (arms, units) in pending.items():
                storage.add(conn, name, arms, units)

        try:
            await self.store.write(write)
        except Exception:
            # Keep them for the next flush rather than lose them.
            for name, (arms, units) in pending.items():
                again, again_units = self._pending.setdefault(name, ({}, {}))
                accumulate(again, arms)
                for v, n in units.items():
                    again_units[v] = again_units.get(v, 0) + n
            raise

    async def run_flusher(self) -> None:
        """Flush every ``flush_interval`` until cancelled (the caller flushes once more after)."""
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
            except Exception:
                log.exception("Could not write experiment data; retrying at the next flush")

    async def observe(self, name: str, arms: Arms) -> None:
        """Persist posted observations, then add them to the experiment's arms.

        :class:`Invalid`, and nothing added, when an arm's sums would stop being finite.
        Posts are taken one at a time, and the stored sums are checked in the transaction
        that writes them: two posts that are each fine cannot together pass the check.
        """
        async with self._observing:
            live = self.live.get(name)
            if live is not None:
                check_totals(live.arms, arms)
            await self.store.write(lambda conn: storage.add(conn, name, arms, guard=True))
            if live is not None:
                accumulate(live.arms, arms)
                live.changed()

    async def replace(self, name: str, arms: dict[tuple[str, str], SufficientStats]) -> None:
        """Set arms to totals read elsewhere (PromQL), persisted like the others."""
        await self.store.write(lambda conn: storage.put(conn, name, arms))
        live = self.live.get(name)
        if live is not None:
            live.arms.update(arms)
            live.changed()

    async def act(self, name: str, action: Action) -> Live:
        """Apply a lifecycle action (``IllegalTransition`` if the state does not allow it)."""
        async with self._lock:
            live = self.live[name]
            after = transition(live.state, action)
            now = self.clock()
            started = live.started_at
            if after == "running" and started is None:
                started = now
            if not collects(after):
                # Probe data gathered up to this moment belong to the experiment; write them.
                await self.flush()
            await self.store.write(
                lambda conn: storage.set_state(conn, name, after, started_at=started, at=now)
            )
            live.state, live.started_at = after, started
            live.changed()
            return live
