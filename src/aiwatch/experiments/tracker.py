"""The daemon's experiments: their states and arms in memory, written through to the store.

Reads (the API, ``/metrics``) never touch SQLite: each experiment's arms live in memory as
running sums, and its analysis is recomputed only when they changed since the last read.
Posted observations are written before they are acknowledged; probe results, which arrive
many times a second, are folded in at once and written in one batch per ``flush_interval``.
"""

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aiwatch.config.model import Experiment, ExperimentMetric
from aiwatch.experiments import collect, storage
from aiwatch.experiments.lifecycle import Action, State, collects, transition
from aiwatch.experiments.observations import Arms, check_totals, merge
from aiwatch.experiments.storage import Saved, Store
from aiwatch.probes.result import ProbeResult
from aiwatch.stats import ExperimentResult, SufficientStats

if TYPE_CHECKING:  # the module loads SciPy, only once a release verdict is asked for
    from aiwatch.experiments.release import ReleaseVerdict

log = logging.getLogger("aiwatch.experiments")

Source = Literal["config", "api"]


class Conflict(ValueError):
    """A change that the experiment's source or state does not allow (HTTP 409)."""


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
    switched_at: float | None = None
    """Blue-green: when traffic moved to green (None before the switch)."""
    source: Source = "config"
    document: dict[str, Any] | None = None
    """An API-defined experiment's document, as created or last changed."""
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

    def verdict(self) -> "ReleaseVerdict":
        """The release verdict (canary and blue-green experiments) on the data so far."""
        from aiwatch.experiments.release import release_verdict

        return release_verdict(self.config, self.arms, switched=self.switched_at is not None)


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
            for name in [n for n, v in self.live.items() if v.source == "config"]:
                if name not in wanted:
                    del self.live[name]
            for name in [n for n, v in self.live.items() if v.source == "api" and n in wanted]:
                log.warning(
                    "The config file's experiment replaces the one created over the API",
                    extra={"experiment": name},
                )
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
                switched_at=saved.switched_at,
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
            if live.switched_at is not None:
                # Blue-green after the switch: blue's data ended there (its last window).
                variants = [v for v in variants if v != live.config.control]
            if not variants:
                continue
            # Every probe is a unit assigned to its variant, even one that adds no value
            # (a failure, for a latency metric): that is what the sample-ratio check counts.
            delta = {
                key: stats
                for key, stats in collect.from_probe(live.config, result).items()
                if key[0] in variants
            }
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

    # Experiments defined over the API, and the blue-green switch ---------------------------

    async def load_defined(self, build: "Callable[[Any], Experiment | None]") -> None:
        """Add the API-defined experiments kept in the store (at start-up); ``build`` checks
        each document against the loaded config (None: no longer valid, skipped and logged)."""
        rows = await self.store.read(storage.definitions)
        saved = await self.store.read(storage.load)
        async with self._lock:
            for name, text in rows.items():
                if name in self.live:
                    log.warning(
                        "Experiment %s is in the config file; its API definition waits", name
                    )
                    continue
                document = json.loads(text)
                experiment = build(document)
                if experiment is None:
                    log.warning(
                        "An API-defined experiment no longer fits the config; not loaded",
                        extra={"experiment": name},
                    )
                    continue
                live = await self._open(experiment, saved.get(name))
                live.source, live.document = "api", document
                self.live[name] = live

    async def define(self, experiment: Experiment, document: dict[str, Any]) -> Live:
        """Create an API-defined experiment (:class:`Conflict` if the name is taken)."""
        async with self._lock:
            name = experiment.name
            if name in self.live:
                msg = f"an experiment named {name!r} exists ({self.live[name].source})"
                raise Conflict(msg)
            now = self.clock()
            text = json.dumps(document)
            await self.store.write(lambda conn: storage.define(conn, name, text, at=now))
            live = await self._open(experiment, None)
            live.source, live.document = "api", document
            self.live[name] = live
            return live

    def _changeable(self, name: str, verb: str, states: tuple[State, ...]) -> Live:
        live = self.live[name]
        if live.source != "api":
            msg = f"experiment {name!r} is defined in the config file; {verb} it there"
            raise Conflict(msg)
        if live.state not in states:
            allowed = " or ".join(states)
            msg = f"experiment {name!r} is {live.state}; only {allowed} ones can be {verb}d"
            raise Conflict(msg)
        return live

    async def redefine(self, experiment: Experiment, document: dict[str, Any]) -> Live:
        """Replace a draft API-defined experiment's definition."""
        async with self._lock:
            live = self._changeable(experiment.name, "change", ("draft",))
            now, text = self.clock(), json.dumps(document)
            await self.store.write(lambda conn: storage.define(conn, experiment.name, text, at=now))
            live.config, live.document = experiment, document
            live.arms = fitting(experiment, live.arms)
            live.changed()
            return live

    async def delete(self, name: str) -> int:
        """Archive a draft or stopped API-defined experiment with its results; the archive id."""
        async with self._lock:
            live = self._changeable(name, "delete", ("draft", "stopped"))
            await self.flush()
            result: dict[str, Any] = {"analysis": live.result().to_json()}
            if live.config.type != "ab":
                result["release"] = live.verdict().to_json()
            now = self.clock()
            archive_id = await self.store.write(
                lambda conn: storage.archive(
                    conn,
                    name,
                    document=json.dumps(live.document),
                    state=live.state,
                    started_at=live.started_at,
                    result=json.dumps(result),
                    at=now,
                )
            )
            del self.live[name]
            self._pending.pop(name, None)
            return archive_id

    async def switch(self, name: str) -> Live:
        """Blue-green: traffic moved to green; blue's data end, green's start again."""
        async with self._lock:
            live = self.live[name]
            if live.config.type != "blue_green":
                msg = f"experiment {name!r} is {live.config.type}; only blue_green ones switch"
                raise Conflict(msg)
            if live.switched_at is not None:
                msg = f"experiment {name!r} was already switched"
                raise Conflict(msg)
            green = next(v.name for v in live.config.variants if v.name != live.config.control)
            await self.flush()
            now = self.clock()
            await self.store.write(lambda conn: storage.switch(conn, name, green, at=now))
            live.switched_at = now
            live.arms = {key: stats for key, stats in live.arms.items() if key[0] != green}
            pending = self._pending.get(name)
            if pending is not None:
                pending[0].clear()
            live.changed()
            return live
