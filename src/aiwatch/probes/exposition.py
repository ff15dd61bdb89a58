"""The probe series in the Prometheus text format, written by hand because scrapes must be fast."""

import math
from collections.abc import Callable, Iterator
from itertools import accumulate

from aiwatch import metrics
from aiwatch.probes.series import (
    HISTOGRAMS,
    Histogram,
    ProbeSeries,
    TargetSeries,
    escape,
    format_le,
)

# prometheus-client spends ~20 µs per sample line; with thousands of targets of ~80 lines
# each that is seconds per scrape. Here each line is one f-string from label text cached per
# target (histograms: one %-template per target), well under a microsecond per line.
Lines = list[str]


def _value(value: float) -> str:
    """A sample value as the text format spells it."""
    if math.isfinite(value):
        return repr(float(value))
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _header(metric: metrics.MetricDef) -> str:
    help_text = metric.help.replace("\\", "\\\\").replace("\n", "\\n")
    name = metric.name
    return f"# HELP {name}{'_total' if metric.type == 'counter' else ''} {help_text}\n" + (
        f"# TYPE {name}{'_total' if metric.type == 'counter' else ''} {metric.type}\n"
    )


def _success(s: TargetSeries, out: Lines) -> None:
    if s.success is not None:
        out.append(f"aiwatch_probe_success{{{s.label_text}}} {s.success!r}\n")


def _probes(s: TargetSeries, out: Lines) -> None:
    lbl = s.label_text
    for result, n in s.probes.items():
        out.append(f'aiwatch_probes_total{{{lbl},result="{result}"}} {n}\n')


def _errors(s: TargetSeries, out: Lines) -> None:
    if s.errors:
        lbl = s.label_text
        for error_type, n in sorted(s.errors.items()):
            out.append(f'aiwatch_probe_errors_total{{{lbl},error_type="{error_type}"}} {n}\n')


def _histogram_template(name: str, buckets: tuple[float, ...]) -> str:
    # One %-template per histogram with a placeholder for the target's labels: filling it is
    # two C-level calls per target instead of one Python f-string per line.
    bounds = [*(format_le(b) for b in buckets), "+Inf"]
    template = "".join(f'{name}_bucket{{\0,le="{le}"}} %d\n' for le in bounds)
    return template + f"{name}_sum{{\0}} %s\n{name}_count{{\0}} %d\n"


def _write_histogram(template: str, s: TargetSeries, histogram: Histogram, out: Lines) -> None:
    values = (*accumulate(histogram.counts), _value(histogram.sum), histogram.count)
    out.append(template.replace("\0", s.label_template) % values)


def _histogram(index: int) -> Callable[[TargetSeries, Lines], None]:
    spec = HISTOGRAMS[index]
    template = _histogram_template(spec.metric.name, spec.buckets)

    def render(s: TargetSeries, out: Lines) -> None:
        histogram = s.histograms[index]
        if histogram is not None:
            _write_histogram(template, s, histogram, out)

    return render


_GAPS = _histogram_template(metrics.PROBE_CHUNK_GAP.name, metrics.CHUNK_GAP_BUCKETS)


def _gaps(s: TargetSeries, out: Lines) -> None:
    if s.gaps is not None:
        _write_histogram(_GAPS, s, s.gaps, out)


def _longest_gap(s: TargetSeries, out: Lines) -> None:
    if s.longest_gap is not None:
        name = metrics.PROBE_LONGEST_GAP.name
        out.append(f"{name}{{{s.label_text}}} {_value(s.longest_gap)}\n")


def _buffered(s: TargetSeries, out: Lines) -> None:
    if s.buffered is not None:
        out.append(f"aiwatch_probe_stream_buffered{{{s.label_text}}} {s.buffered!r}\n")


def _tokens(s: TargetSeries, out: Lines) -> None:
    if s.tokens is not None:
        lbl = s.label_text
        for (kind, source), n in s.tokens.items():
            out.append(f'aiwatch_probe_tokens_total{{{lbl},type="{kind}",source="{source}"}} {n}\n')


def _cost(s: TargetSeries, out: Lines) -> None:
    if s.cost is not None:
        out.append(f"aiwatch_probe_cost_usd_total{{{s.label_text}}} {_value(s.cost)}\n")


def _status(s: TargetSeries, out: Lines) -> None:
    if s.status_code is not None:
        out.append(f"aiwatch_probe_http_status_code{{{s.label_text}}} {s.status_code!r}\n")


def _last_run(s: TargetSeries, out: Lines) -> None:
    if s.last_run is not None:
        line = f"aiwatch_probe_last_run_timestamp_seconds{{{s.label_text}}} {s.last_run!r}\n"
        out.append(line)


def _skipped(s: TargetSeries, out: Lines) -> None:
    out.append(f"aiwatch_probes_skipped_total{{{s.label_text}}} {s.skipped}\n")


def _ratelimit(s: TargetSeries, out: Lines) -> None:
    if s.ratelimit:
        lbl = s.label_text
        for resource, value in sorted(s.ratelimit.items()):
            line = f'aiwatch_ratelimit_remaining{{{lbl},resource="{resource}"}} {_value(value)}\n'
            out.append(line)


def _ratelimit_reset(s: TargetSeries, out: Lines) -> None:
    lbl = s.label_text
    for resource, value in sorted(s.ratelimit_reset.items()):
        line = f'aiwatch_ratelimit_reset_seconds{{{lbl},resource="{resource}"}} {_value(value)}\n'
        out.append(line)


def _retry_after(s: TargetSeries, out: Lines) -> None:
    if s.retry_after is not None:
        out.append(
            f"aiwatch_ratelimit_retry_after_seconds{{{s.label_text}}} {_value(s.retry_after)}\n"
        )


def _budget(s: TargetSeries, out: Lines) -> None:
    if s.budget:
        lbl = s.label_text
        for unit, value in sorted(s.budget.items()):
            out.append(f'aiwatch_probe_budget_remaining{{{lbl},unit="{unit}"}} {_value(value)}\n')


def _info(s: TargetSeries, out: Lines) -> None:
    if s.info is not None:
        model, fingerprint = escape(s.info[0]), escape(s.info[1])
        out.append(
            f'aiwatch_target_info{{{s.label_text},response_model="{model}",'
            f'system_fingerprint="{fingerprint}"}} 1\n'
        )


FAMILIES: tuple[tuple[str, Callable[[TargetSeries, Lines], None]], ...] = (
    (_header(metrics.PROBE_SUCCESS), _success),
    (_header(metrics.PROBES), _probes),
    (_header(metrics.PROBE_ERRORS), _errors),
    *((_header(spec.metric), _histogram(i)) for i, spec in enumerate(HISTOGRAMS)),
    (_header(metrics.PROBE_CHUNK_GAP), _gaps),
    (_header(metrics.PROBE_LONGEST_GAP), _longest_gap),
    (_header(metrics.PROBE_BUFFERED), _buffered),
    (_header(metrics.PROBE_TOKENS), _tokens),
    (_header(metrics.PROBE_COST), _cost),
    (_header(metrics.PROBE_STATUS), _status),
    (_header(metrics.PROBE_LAST_RUN), _last_run),
    (_header(metrics.PROBES_SKIPPED), _skipped),
    (_header(metrics.RATELIMIT_REMAINING), _ratelimit),
    (_header(metrics.RATELIMIT_RESET), _ratelimit_reset),
    (_header(metrics.RATELIMIT_RETRY_AFTER), _retry_after),
    (_header(metrics.PROBE_BUDGET_REMAINING), _budget),
    (_header(metrics.TARGET_INFO), _info),
)
"""Every probe metric family in exposition order: its HELP/TYPE header and line writer."""


HEADERS = tuple(header.encode() for header, _ in FAMILIES)


def pieces(store: ProbeSeries) -> Iterator[bytes]:
    """All probe series of ``store`` in the text format, as pieces in page order, rendered
    as they are asked for: each family's samples together under its header.

    A server writes them as they come and lets the event loop run between writes, so a
    scrape of thousands of targets never holds the loop for long, and no copy of the page
    is kept between scrapes. The targets are listed once, when the first piece is asked
    for; a probe result that arrives meanwhile shows in the families not yet written, as in
    any exporter that is read while it is updated.
    """
    targets = list(store.targets.values())
    out: Lines = []  # one list for every piece: a scrape allocates no container per target
    for header, (_, write) in zip(HEADERS, FAMILIES, strict=True):
        started = False
        for s in targets:
            write(s, out)
            if out:
                if not started:  # no samples: no header either
                    started = True
                    yield header
                yield "".join(out).encode()
                out.clear()
    # Always there, from 0: a counter that first appears at 1 is invisible to increase().
    labels = f'label="error_type",metric="{metrics.PROBE_ERRORS.name}_total"'
    yield _header(metrics.LABEL_OVERFLOW).encode()
    yield f"{metrics.LABEL_OVERFLOW.name}_total{{{labels}}} {store.overflow}\n".encode()


def render(store: ProbeSeries) -> bytes:
    """All probe series of ``store`` in the text format."""
    return b"".join(pieces(store))
