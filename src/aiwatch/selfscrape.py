"""What is remembered for rules: aiwatch's own samples, stored as a Prometheus scrape would."""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from aiwatch import metrics
from aiwatch.app.keys import FRESH_SAMPLES, PROBE_SCHEDULER, STATE, Deps, SampleBatches
from aiwatch.gcpause import collections_paused
from aiwatch.persistence import SNAPSHOT_INTERVAL, SampleFiles, run_in_slices
from aiwatch.probes.scheduler import TIMEOUT_GUARD, Scheduler
from aiwatch.probes.series import Shape, TargetBatch
from aiwatch.promql.storage import STALE_NAN, Labels, MemoryStorage, labels_of

log = logging.getLogger("aiwatch.selfscrape")

Sample = tuple[str, Labels, float]
"""Metric name (with ``_total``/``_bucket``/… suffix), sorted label pairs, value."""

# prometheus-client yields these samples but the text format a Prometheus scrapes omits them.
_OMITTED_SUFFIXES = ("_created", "_gsum", "_gcount")


class SampleSource(Protocol):
    """Anything that can list its current samples without rendering text."""

    def iter_samples(self) -> Iterator[Sample]:
        """Current samples, as they would appear on ``/metrics``."""
        ...


def registry_samples(registry: CollectorRegistry) -> Iterator[Sample]:
    """The samples of a prometheus-client registry, read from the collectors' structures."""
    for family in registry_families(registry):
        yield from family


def registry_families(registry: CollectorRegistry) -> Iterator[list[Sample]]:
    """``registry_samples`` one metric family at a time: a sliced scrape may pause between
    them rather than store every family of the registry in one step."""
    for family in registry.collect():
        yield [
            (sample.name, tuple(sorted(sample.labels.items())), float(sample.value))
            for sample in family.samples
            if family.type == "gauge" or not sample.name.endswith(_OMITTED_SUFFIXES)
        ]


class _Changes:
    """What one scrape found changed in probe targets' series (rare: new error types,
    rate-limit resources, reloads)."""

    __slots__ = ("dropped", "fresh", "vanished")

    def __init__(self) -> None:
        self.dropped: list[Labels] = []  # keys gone from a target's batch shape
        self.vanished: list[Labels | None] = []  # keys of targets no longer listed
        self.fresh: list[list[Labels | None]] = []  # keys of targets first seen


def _first_only(keys: list[Labels]) -> list[Labels | None]:
    """``keys`` with any repeat of an earlier key as None: a series is stored once a scrape."""
    if len(set(keys)) == len(keys):
        return list[Labels | None](keys)
    seen: set[Labels] = set()
    out: list[Labels | None] = []
    for key in keys:
        out.append(None if key in seen else key)
        seen.add(key)
    return out


class SelfScraper:
    """Appends the current samples to the store with ``job`` and ``instance`` labels.

    Like a Prometheus scrape it also writes ``up 1`` and, for a series that disappeared since
    the previous scrape, a staleness marker, so ``absent()`` and the lookback behave the same.
    """

    def __init__(
        self,
        storage: MemoryStorage,
        sources: Callable[[], Iterable[Iterable[Sample]]],
        *,
        instance: str,
        job: str = "aiwatch",
        retention_ms: int,
    ) -> None:
        self.storage = storage
        self._sources = sources
        self._target = (("instance", instance), ("job", job))
        self.retention_ms = retention_ms
        # The series of the latest scrape from plain sources; a probe target's are its
        # batch's keys below, so no set of every series is kept (or built at each scrape).
        self.previous: set[Labels] = set()
        self.stored = 0  # samples stored by the latest scrape
        # The stored key of each source series, by metric name then source labels. The
        # source labels are kept as the store's shared pairs (a source makes new ones every
        # scrape), and by name so that no (name, labels) pair is kept per series.
        self._keys: dict[str, dict[Labels, Labels]] = {}
        self._known = 0
        # Per probe target (``TargetBatch.owner``): its base labels, its batch's shape and
        # the stored key of each of its samples, in order: no label set kept per series.
        self._batches: dict[object, tuple[Labels, Shape, list[Labels | None]]] = {}
        # One kept object per distinct batch shape: targets of one kind mostly share theirs.
        self._shapes: dict[Shape, Shape] = {}

    def scrape(self, t_ms: int) -> int:
        """Store one scrape at ``t_ms``; returns how many samples were appended."""
        with collections_paused():
            for _ in self.scrape_steps(t_ms, pause_every=0):
                pass
        return self.stored

    def scrape_steps(self, t_ms: int, *, pause_every: int) -> Iterator[None]:
        """``scrape``, yielding between sources once ``pause_every`` samples were stored.

        A caller on the event loop pauses at each yield (see ``run_in_slices``), so a big
        scrape does not stall it; a source should therefore be a whole unit (a target's or a
        metric family's samples), so that rules never see half of a histogram updated.
        """
        current: set[Labels] = set()
        changes = _Changes()
        self._append(current, "up", (), 1.0, t_ms)
        stored = at_pause = 1
        owners: set[object] = set()
        for source in self._sources():
            if isinstance(source, TargetBatch):
                owners.add(source.owner)
                stored += self._append_batch(source, t_ms, changes)
            else:
                before = len(current)
                for name, labels, value in source:
                    self._append(current, name, labels, value, t_ms)
                stored += len(current) - before
            if pause_every and stored - at_pause >= pause_every:
                at_pause = stored
                yield
        for owner in [o for o in self._batches if o not in owners]:
            changes.vanished.extend(self._batches.pop(owner)[2])
        self._mark_gone(changes, self.previous - current, t_ms)
        self.previous, self.stored = current, stored
        if self._known > 2 * len(current):
            # Series come and go (reloads, label values): forget the keys of the gone ones.
            kept = {
                name: {labels: key for labels, key in by_labels.items() if key in current}
                for name, by_labels in self._keys.items()
            }
            self._keys = {name: by_labels for name, by_labels in kept.items() if by_labels}
            self._known = sum(map(len, self._keys.values()))
        if pause_every:
            yield
        yield from self.storage.drop_steps(t_ms - self.retention_ms, pause_every=pause_every)

    def _mark_gone(self, changes: _Changes, plain: set[Labels], t_ms: int) -> None:
        """A staleness marker for each series the previous scrape had and this one has not."""
        if changes.vanished:
            # A target that went may come back as a new one with the same labels (removed
            # and added again by reloads): its keys then live on.
            live = {key for keys in changes.fresh for key in keys}
            plain.update(k for k in changes.vanished if k is not None and k not in live)
        for key in (*changes.dropped, *plain):
            self.storage.append_key(key, t_ms, STALE_NAN)

    def _append(
        self, seen: set[Labels], name: str, labels: Labels, value: float, t_ms: int
    ) -> None:
        # The stored key of a source series never changes: compute it once, not every scrape.
        by_labels = self._keys.get(name)
        if by_labels is None:
            by_labels = self._keys[name] = {}
        key = by_labels.get(labels)
        if key is None:
            key = self._key(name, labels)
            by_labels[self.storage.canonical(labels)] = key
            self._known += 1
        self._store(seen, key, value, t_ms)

    def _key(self, name: str, labels: Labels) -> Labels:
        merged = dict(labels)
        merged.update(self._target)
        merged["__name__"] = name
        return self.storage.canonical(labels_of(merged))

    def _append_batch(self, batch: TargetBatch, t_ms: int, changes: _Changes) -> int:
        # The keys of a target's samples change only with its labels or its batch's shape.
        # They carry the target's labels, so no other source has them: no set of seen keys.
        cached = self._batches.get(batch.owner)
        if cached is None or cached[0] != batch.base or cached[1] != batch.shape:
            # A series the target already had keeps its key object: the store holds that one.
            had = {key: key for key in cached[2] if key is not None} if cached else {}
            made = (self._key(name, labels) for name, labels, _ in batch)
            keys = _first_only([had.get(key, key) for key in made])
            if cached is None:
                changes.fresh.append(keys)
            else:
                kept = set(keys)
                changes.dropped.extend(k for k in cached[2] if k is not None and k not in kept)
            shape = self._shapes.setdefault(batch.shape, batch.shape)
            cached = self._batches[batch.owner] = (batch.base, shape, keys)
            if len(self._shapes) > 2 * len(self._batches) + 16:  # forget shapes gone
                self._shapes = {kept[1]: kept[1] for kept in self._batches.values()}
        append = self.storage.append_key
        for key, value in zip(cached[2], batch.values, strict=True):
            if key is not None:
                # A real NaN is stored as NaN; only the exact stale bit pattern means "gone".
                append(key, t_ms, value if not math.isnan(value) else math.nan)
        return len(batch.values)

    def _store(self, seen: set[Labels], key: Labels, value: float, t_ms: int) -> None:
        if key in seen:
            return
        seen.add(key)
        # A real NaN value is stored as NaN; only the exact stale bit pattern means "gone".
        self.storage.append_key(key, t_ms, value if not math.isnan(value) else math.nan)


def instance_label(listen_address: str) -> str:
    """The ``instance`` a Prometheus scraping this listen address would attach."""
    host, _, port = listen_address.rpartition(":")
    host = host.strip("[]") or "localhost"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


SLICE = 100
"""Samples stored (or series trimmed) between two looks at the clock of a self-scrape: under
a millisecond of work, a few when the store closes chunks. A slice stops at the first look
after ``persistence.SLICE_S`` and lets other tasks run, so they wait at most about two
slices (the loop runs a task's next slice before the callbacks that became ready
meanwhile)."""


async def _snapshot_loop(files: SampleFiles) -> None:
    """Snapshot the store now and then, so the log to replay at start-up stays short."""
    while True:
        await asyncio.sleep(SNAPSHOT_INTERVAL)
        await files.checkpoint()


async def scrape_in_turn(scraper: SelfScraper, turn: asyncio.Lock) -> None:
    """One scrape on the event loop in slices, once no other scrape of ``scraper`` runs.

    Scrapes that overlapped would interleave their slices: the later one's samples stored
    first make the earlier one's out of order. The time is read once the turn is ours, so
    scrapes store in the order of their timestamps.
    """
    async with turn:
        await run_in_slices(scraper.scrape_steps(int(time.time() * 1000), pause_every=SLICE))


async def _scrape_loop(
    app: web.Application, scraper: SelfScraper, files: SampleFiles, turn: asyncio.Lock
) -> None:
    """Scrape on absolute multiples of the evaluation interval, so there is no drift."""
    loop = asyncio.get_running_loop()
    while True:
        interval = app[STATE].current.global_.evaluation_interval
        now = time.time()
        await asyncio.sleep(interval - now % interval)
        scraper.retention_ms = int(app[STATE].current.global_.retention * 1000)
        started = loop.time()
        try:
            await scrape_in_turn(scraper, turn)
            await files.flush()
        except Exception:  # one failed scrape must not end the self-scrape for good
            log.exception("Self-scrape failed")
            continue
        log.debug(
            "Self-scrape",
            extra={"samples": scraper.stored, "seconds": round(loop.time() - started, 4)},
        )


class StoreCollector:
    """``aiwatch_local_store_series`` and ``aiwatch_local_store_chunk_bytes``, read live."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families (called at each scrape, on the event loop)."""
        yield GaugeMetricFamily(
            metrics.LOCAL_STORE_SERIES.name,
            metrics.LOCAL_STORE_SERIES.help,
            value=float(self._storage.series_count()),
        )
        chunks = GaugeMetricFamily(
            metrics.LOCAL_STORE_CHUNK_BYTES.name,
            metrics.LOCAL_STORE_CHUNK_BYTES.help,
            labels=["where"],
        )
        in_files, in_memory = self._storage.spill.sizes()
        chunks.add_metric(["file"], float(in_files))
        chunks.add_metric(["memory"], float(in_memory))
        yield chunks


async def _scraping(app: web.Application, deps: Deps) -> AsyncIterator[None]:
    state = deps.state
    registry = deps.registry
    collector = StoreCollector(deps.samples)
    registry.register(collector)
    others: list[SampleBatches] = deps.sample_sources

    def sources() -> Iterator[Iterable[Sample]]:
        yield from registry_families(registry)
        for source in others:
            yield from source()

    scraper = SelfScraper(
        deps.samples,
        sources,
        instance=instance_label(state.options.listen_address),
        retention_ms=int(state.current.global_.retention * 1000),
    )
    # History from before a restart comes back first, as a Prometheus TSDB would keep it, so
    # restored alerts do not resolve for lack of data; then the first scrape happens now.
    files = SampleFiles(scraper.storage, state.options.storage_path or ".")
    now_ms = int(time.time() * 1000)
    recovered = files.recover(mint_ms=now_ms - scraper.retention_ms)
    if recovered.series:
        log.info(
            "Restored local samples",
            extra={
                "series": recovered.series,
                "replayed": recovered.replayed,
                "seconds": round(recovered.seconds, 3),
            },
        )
    await run_in_slices(scraper.scrape_steps(int(time.time() * 1000), pause_every=SLICE))
    await files.flush()
    turn = asyncio.Lock()  # the scrape loop's and the start-up announcement's scrapes
    tasks = [
        asyncio.create_task(_scrape_loop(app, scraper, files, turn)),
        asyncio.create_task(_snapshot_loop(files)),
        asyncio.create_task(_announce_fresh(app, scraper, turn)),
    ]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await files.checkpoint()
    registry.unregister(collector)


FRESH_POLL = 0.05
"""How often start-up checks whether every target has been probed."""
FRESH_SLACK = 5.0
"""Seconds allowed beyond a target's interval + timeout for its first result: a start-up on
a busy machine (imports, the snapshot, opening the database) delays the first probes."""


def longest_first_probe(scheduler: Scheduler | None) -> float:
    """The most seconds a target of ``scheduler`` can take to report its first result."""
    if scheduler is None:
        return 0.0
    return max(
        (e.target.interval + e.target.timeout + TIMEOUT_GUARD for e in scheduler.entries.values()),
        default=0.0,
    )


async def _announce_fresh(app: web.Application, scraper: SelfScraper, turn: asyncio.Lock) -> None:
    """Store a scrape once every target has a result from this run, then set FRESH_SAMPLES.

    Until then the store holds the restored samples, up to a snapshot interval old: rules
    evaluated on them would resolve alerts that are still true (docs/rules.md#restarts).
    """
    scheduler = app.get(PROBE_SCHEDULER)
    loop = asyncio.get_running_loop()
    started = loop.time()
    limit = longest_first_probe(scheduler) + FRESH_SLACK
    while scheduler is not None and loop.time() - started < limit:
        if all(e.last is not None for e in scheduler.entries.values()):
            break
        await asyncio.sleep(FRESH_POLL)
    else:
        if scheduler is not None and scheduler.entries:
            waiting = [n for n, e in scheduler.entries.items() if e.last is None]
            log.warning(
                "Not every target was probed in time; rules start without them",
                extra={"seconds": round(limit, 1), "targets": ",".join(sorted(waiting)[:5])},
            )
    try:
        await scrape_in_turn(scraper, turn)
    except Exception:  # the rules start all the same, on the next scrape's samples
        log.exception("Self-scrape failed")
    log.info("Rules start on fresh samples", extra={"seconds": round(loop.time() - started, 2)})
    app[FRESH_SAMPLES].set()


def setup(app: web.Application, deps: Deps) -> None:
    """Feed aiwatch's own samples (the registry's and the features') into the rules' store."""
    app[FRESH_SAMPLES] = asyncio.Event()

    def lifecycle(app: web.Application) -> AsyncIterator[None]:
        return _scraping(app, deps)

    app.cleanup_ctx.append(lifecycle)
