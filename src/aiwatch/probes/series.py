"""What is exposed about probes: per target the counters, gauges and histograms of the docs."""

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from sys import intern

from aiwatch import metrics
from aiwatch.config.model import Target
from aiwatch.probes.result import ERROR_TYPES, ProbeResult

Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]
"""Metric name (with its ``_total``/``_bucket``/… suffix), sorted label pairs, value."""

RESERVED_LABELS = frozenset(
    {
        "target",
        "kind",
        "feature",
        "model",
        # Labels that individual probe metrics add on top of the target's own.
        "result",
        "error_type",
        "type",
        "resource",
        "le",
        "response_model",
        "system_fingerprint",
        "source",
        "unit",
    }
)
INFO_VALUE_MAX = 128
OTHER = "other"
_KNOWN_ERRORS = frozenset(ERROR_TYPES)


def series_labels(target: Target) -> Labels:
    """The labels every series of ``target`` carries, in exposition order.

    ``target``, ``kind``, ``feature`` and ``model`` come first; then the target's own
    ``labels``. A user label whose name aiwatch uses itself (or that starts with ``__``) is
    renamed ``exported_<name>``, as Prometheus does with clashing target labels, so it can never
    overwrite or duplicate one of aiwatch's.
    """
    own = [
        ("target", target.name),
        ("kind", target.kind),
        ("feature", target.feature),
        ("model", target.model),
    ]
    taken = {name for name, _ in own}
    extra: dict[str, str] = {}
    for name, value in target.labels.items():
        out = name
        while out in RESERVED_LABELS or out.startswith("__") or out in taken or out in extra:
            out = "exported_" + out
        extra[out] = value
    return (*own, *sorted(extra.items()))


def escape(value: str) -> str:
    """A label value escaped for the text format: backslash, double quote and newline."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def label_text(labels: Labels) -> str:
    """``name="value",…`` for the text format."""
    return ",".join(f'{name}="{escape(value)}"' for name, value in labels)


def truncate(value: str) -> str:
    """An info label value cut to ``INFO_VALUE_MAX`` characters."""
    return value if len(value) <= INFO_VALUE_MAX else value[:INFO_VALUE_MAX]


class Histogram:
    """Observations of one histogram of one target: per-bucket counts, sum and count."""

    __slots__ = ("buckets", "count", "counts", "sum")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is the +Inf overflow
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Count ``value`` in the first bucket whose upper bound is at least ``value``."""
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> Iterator[int]:
        """Bucket counts as exposed: each includes every smaller bucket."""
        total = 0
        for n in self.counts:
            total += n
            yield total


@dataclass(frozen=True)
class HistogramSpec:
    """Which ``ProbeResult`` field feeds which histogram."""

    metric: metrics.MetricDef
    field: str
    buckets: tuple[float, ...]


HISTOGRAMS = (
    HistogramSpec(metrics.PROBE_DURATION, "duration", metrics.DURATION_BUCKETS),
    HistogramSpec(metrics.PROBE_TTFB, "time_to_first_byte", metrics.DURATION_BUCKETS),
    HistogramSpec(metrics.PROBE_TTFT, "time_to_first_token", metrics.TTFT_BUCKETS),
    HistogramSpec(metrics.PROBE_TPOT, "time_per_output_token", metrics.TPOT_BUCKETS),
)


def _streams(target: Target) -> bool:
    return target.stream


USAGE, CHUNKS = "usage", "chunks"
"""Where a token count came from: the endpoint's usage, or the stream's content chunks."""


class TargetSeries:
    """Every probe series of one target."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.labels = series_labels(target)
        self.label_text = label_text(self.labels)
        self.label_template = self.label_text.replace("%", "%%")
        """The label text made safe to splice into a %-format template."""
        self.success: float | None = None
        self.probes = {"success": 0, "failure": 0}
        self.errors: dict[str, int] = {}
        # Histograms a target's kind always fills start at zero so rate() sees the first
        # observation; the others (TTFT of a non-streaming target) appear only if ever observed.
        self.histograms: list[Histogram | None] = [
            Histogram(spec.buckets)
            if spec.field in ("duration", "time_to_first_byte") or _streams(target)
            else None
            for spec in HISTOGRAMS
        ]
        has_usage = target.kind != "http"
        self.tokens: dict[tuple[str, str], int] | None = None
        if has_usage:
            self.tokens = {("input", USAGE): 0, ("output", USAGE): 0}
            if target.stream:
                self.tokens["output", CHUNKS] = 0
        # Streaming: every gap between content chunks, the last probe's longest, and whether
        # its content came in one burst.
        self.gaps = Histogram(metrics.CHUNK_GAP_BUCKETS) if target.stream else None
        self.longest_gap: float | None = None
        self.buffered: float | None = None
        self.cost: float | None = 0.0 if target.price is not None else None
        self.status_code: float | None = None
        self.last_run: float | None = None
        self.skipped = 0
        self.ratelimit: dict[str, float] = {}
        self.ratelimit_reset: dict[str, float] = {}
        self.retry_after: float | None = None
        self.info: tuple[str, str] | None = None
        self.overflow = 0
        self.budget: dict[str, float] = {}
        """What the target may still spend today, per unit (``tokens``, ``usd``)."""

    def observe(self, result: ProbeResult) -> None:
        """Fold one probe's result into the series."""
        self.success = 1.0 if result.success else 0.0
        self.probes["success" if result.success else "failure"] += 1
        if not result.success:
            # A failure without a cause (aiwatch itself broke) or with one outside the taxonomy
            # is counted as "other"; only the unexpected values count as label overflow.
            error_type: str = result.error_type or OTHER
            if error_type not in _KNOWN_ERRORS and error_type != OTHER:
                self.overflow += 1
            if error_type not in _KNOWN_ERRORS:
                error_type = OTHER
            self.errors[error_type] = self.errors.get(error_type, 0) + 1
        for i, spec in enumerate(HISTOGRAMS):
            value = getattr(result, spec.field)
            if value is None:
                continue
            histogram = self.histograms[i]
            if histogram is None:
                histogram = self.histograms[i] = Histogram(spec.buckets)
            histogram.observe(value)
        if result.input_tokens is not None or result.output_tokens is not None:
            self._count_tokens(result)
        if result.chunk_gap_counts:
            self._count_gaps(result)
        if result.stream_buffered is not None:
            self.buffered = 1.0 if result.stream_buffered else 0.0
        if result.cost_usd is not None:
            self.cost = (self.cost or 0.0) + result.cost_usd
        if result.status_code is not None:
            self.status_code = float(result.status_code)
        self.last_run = result.finished_at
        # Rate-limit headroom and the model keep their newest reported value: a timeout
        # reports nothing, and the series should not flap in and out because of it.
        if result.ratelimit_remaining_requests is not None:
            self.ratelimit["requests"] = result.ratelimit_remaining_requests
        if result.ratelimit_remaining_tokens is not None:
            self.ratelimit["tokens"] = result.ratelimit_remaining_tokens
        self.ratelimit.update(result.ratelimit_remaining_other)
        self.ratelimit_reset.update(result.ratelimit_reset)
        if result.status_code is not None:
            self.retry_after = result.retry_after or 0.0
        if result.response_model is not None or result.system_fingerprint is not None:
            self.info = (
                truncate(result.response_model or ""),
                truncate(result.system_fingerprint or ""),
            )

    def _count_tokens(self, result: ProbeResult) -> None:
        tokens = self.tokens
        if tokens is None:
            tokens = self.tokens = {("input", USAGE): 0, ("output", USAGE): 0}
        tokens["input", USAGE] += result.input_tokens or 0
        key = ("output", CHUNKS if result.output_tokens_estimated else USAGE)
        tokens[key] = tokens.get(key, 0) + (result.output_tokens or 0)

    def _count_gaps(self, result: ProbeResult) -> None:
        gaps = self.gaps
        if gaps is None:
            gaps = self.gaps = Histogram(metrics.CHUNK_GAP_BUCKETS)
        counts = gaps.counts
        for i, n in enumerate(result.chunk_gap_counts):
            counts[i] += n
        gaps.count += sum(result.chunk_gap_counts)
        gaps.sum += result.chunk_gap_sum
        self.longest_gap = result.longest_chunk_gap

    def set_budget(self, remaining: dict[str, float]) -> None:
        """The budget left today, per unit."""
        self.budget = remaining

    def skip(self, count: int = 1) -> None:
        """Count probes not started: the previous one still ran, or aiwatch fell behind."""
        self.skipped += count

    def samples(self) -> Iterator[tuple[str, tuple[tuple[str, str], ...], float]]:
        """This target's samples, family by family, with only the per-sample extra labels."""
        if self.success is not None:
            yield metrics.PROBE_SUCCESS.name, (), self.success
        for result, n in self.probes.items():
            yield metrics.PROBES.name + "_total", (("result", result),), n
        for error_type, n in sorted(self.errors.items()):
            yield metrics.PROBE_ERRORS.name + "_total", (("error_type", error_type),), n
        for spec, histogram in zip(HISTOGRAMS, self.histograms, strict=True):
            if histogram is None:
                continue
            name = spec.metric.name
            for le, n in zip(_LE_TEXT[spec.field], histogram.cumulative(), strict=True):
                yield name + "_bucket", (("le", le),), n
            yield name + "_sum", (), histogram.sum
            yield name + "_count", (), histogram.count
        if self.gaps is not None:
            name = metrics.PROBE_CHUNK_GAP.name
            for le, n in zip(GAP_LE_TEXT, self.gaps.cumulative(), strict=True):
                yield name + "_bucket", (("le", le),), n
            yield name + "_sum", (), self.gaps.sum
            yield name + "_count", (), self.gaps.count
        if self.longest_gap is not None:
            yield metrics.PROBE_LONGEST_GAP.name, (), self.longest_gap
        if self.buffered is not None:
            yield metrics.PROBE_BUFFERED.name, (), self.buffered
        if self.tokens is not None:
            for (kind, source), n in self.tokens.items():
                labels = (("source", source), ("type", kind))
                yield metrics.PROBE_TOKENS.name + "_total", labels, n
        if self.cost is not None:
            yield metrics.PROBE_COST.name + "_total", (), self.cost
        if self.status_code is not None:
            yield metrics.PROBE_STATUS.name, (), self.status_code
        if self.last_run is not None:
            yield metrics.PROBE_LAST_RUN.name, (), self.last_run
        yield metrics.PROBES_SKIPPED.name + "_total", (), self.skipped
        for resource, value in sorted(self.ratelimit.items()):
            yield metrics.RATELIMIT_REMAINING.name, (("resource", resource),), value
        for resource, value in sorted(self.ratelimit_reset.items()):
            yield metrics.RATELIMIT_RESET.name, (("resource", resource),), value
        if self.retry_after is not None:
            yield metrics.RATELIMIT_RETRY_AFTER.name, (), self.retry_after
        for unit, value in sorted(self.budget.items()):
            yield metrics.PROBE_BUDGET_REMAINING.name, (("unit", unit),), value
        if self.info is not None:
            model, fingerprint = self.info
            extra = (("response_model", model), ("system_fingerprint", fingerprint))
            yield metrics.TARGET_INFO.name, extra, 1.0


def format_le(bound: float) -> str:
    """A bucket bound as Prometheus writes it (``0.01``, ``1``, ``+Inf``)."""
    text = repr(float(bound))
    return text[:-2] if text.endswith(".0") else text


_LE_TEXT = {spec.field: (*(format_le(b) for b in spec.buckets), "+Inf") for spec in HISTOGRAMS}
GAP_LE_TEXT = (*(format_le(b) for b in metrics.CHUNK_GAP_BUCKETS), "+Inf")


_INFO = metrics.TARGET_INFO.name
_EXTRAS: dict[Labels, Labels] = {}
_EXTRAS_MAX = 4096


def _shared(extra: Labels) -> Labels:
    """One copy of each per-sample label set (``le``, ``result``, …): a reader that keeps a
    batch's shape then keeps no copy per target. Bounded, in case values keep changing."""
    if len(_EXTRAS) >= _EXTRAS_MAX:
        return _EXTRAS.get(extra, extra)
    return _EXTRAS.setdefault(extra, extra)


Shape = tuple[tuple[str, ...], tuple[Labels, ...]]
"""A ``TargetBatch``'s metric names and per-sample labels, in order."""


class TargetBatch:
    """One target's samples for the self-scrape, split into what changes and what rarely does.

    ``shape`` (each sample's metric name and per-sample labels, in order) changes only when
    a series appears or goes (a first error of a type, a rate-limit resource), so a reader
    may keep what it derives from the shape (the stored keys, say) per ``owner`` and reuse it
    while ``base`` and ``shape`` stay equal: then only ``values`` are new at each scrape, and
    no label set is built or kept per series. Iterating gives the plain samples.
    """

    __slots__ = ("base", "owner", "shape", "values")

    def __init__(
        self,
        owner: object,
        base: Labels,
        shape: Shape,
        values: list[float],
    ) -> None:
        self.owner = owner
        self.base = base
        self.shape = shape
        self.values = values

    def __iter__(self) -> Iterator[Sample]:
        base = self.base
        plain = tuple(sorted(base))
        for name, extra, value in zip(*self.shape, self.values, strict=True):
            yield name, tuple(sorted(base + extra)) if extra else plain, value


class ProbeSeries:
    """The probe metrics store: one ``TargetSeries`` per probed target."""

    def __init__(self) -> None:
        self.targets: dict[str, TargetSeries] = {}
        self._gone_overflow = 0

    def ensure(self, target: Target) -> TargetSeries:
        """The series of ``target``, created (or recreated if its labels changed) as needed."""
        current = self.targets.get(target.name)
        if current is not None and current.labels == series_labels(target):
            current.target = target
            return current
        if current is not None:
            self._gone_overflow += current.overflow
        series = self.targets[target.name] = TargetSeries(target)
        return series

    def remove(self, name: str) -> None:
        """Forget a target: its series disappear from the exposition."""
        gone = self.targets.pop(name, None)
        if gone is not None:
            self._gone_overflow += gone.overflow

    def observe(self, result: ProbeResult) -> None:
        """Fold a result into its target's series (ignored for a target no longer known)."""
        series = self.targets.get(result.target)
        if series is not None:
            series.observe(result)

    @property
    def overflow(self) -> int:
        """Label values folded into ``other`` since start-up: a counter, so the folds of
        targets since removed (or recreated with other labels) still count."""
        return self._gone_overflow + sum(s.overflow for s in self.targets.values())

    def iter_samples(self) -> Iterator[Sample]:
        """Every current sample as on ``/metrics``, without rendering text (for the rules)."""
        for batch in self.sample_batches():
            yield from batch

    def sample_batches(self) -> Iterator[Iterable[Sample]]:
        """``iter_samples`` as one ``TargetBatch`` per target (and a list for the overflow).

        A reader may pause between batches (an ``await``) while probes go on updating: the
        targets are listed when it starts and each target's samples are taken whole.
        """
        for series in list(self.targets.values()):
            names: list[str] = []
            extras: list[Labels] = []
            values: list[float] = []
            for name, extra, value in series.samples():
                names.append(intern(name))  # `name + "_bucket"` is a new string each time
                extras.append(_shared(extra) if name != _INFO else extra)
                values.append(float(value))
            yield TargetBatch(series, series.labels, (tuple(names), tuple(extras)), values)
        labels = (("label", "error_type"), ("metric", metrics.PROBE_ERRORS.name + "_total"))
        yield [(metrics.LABEL_OVERFLOW.name + "_total", labels, float(self.overflow))]
