"""The incident metrics: open incidents by state, incidents opened by severity, MTTA and MTTR."""

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from aiwatch import metrics
from aiwatch.incidents.lifecycle import Incident

SEVERITIES = frozenset({"critical", "error", "warning", "info", "page", "none"})
"""Severity label values kept as they are; any other is counted as ``other``."""


def bounded_severity(severity: str) -> str:
    """The severity, or ``other`` when it is not one of the known values."""
    return severity if severity in SEVERITIES else "other"


class OpenCollector:
    """``aiwatch_incidents{state}``, read from the store's counts at each scrape."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        """Yield the gauge family."""
        family = GaugeMetricFamily(metrics.INCIDENTS.name, metrics.INCIDENTS.help, labels=["state"])
        counts = self._counts()
        for state in ("firing", "acknowledged"):
            family.add_metric([state], float(counts.get(state, 0)))
        yield family


class IncidentMetrics:
    """Counts and times incidents as the store reports changes (a store observer)."""

    def __init__(
        self, registry: CollectorRegistry, counts: Callable[[], Mapping[str, int]]
    ) -> None:
        registry.register(OpenCollector(counts))
        self.opened = Counter(
            metrics.INCIDENTS_OPENED.name,
            metrics.INCIDENTS_OPENED.help,
            ["severity"],
            registry=registry,
        )
        for severity in (*sorted(SEVERITIES), "other"):
            self.opened.labels(severity=severity)
        self.to_ack = Histogram(
            metrics.TIME_TO_ACK.name,
            metrics.TIME_TO_ACK.help,
            buckets=metrics.RESPONSE_BUCKETS,
            registry=registry,
        )
        self.to_resolve = Histogram(
            metrics.TIME_TO_RESOLVE.name,
            metrics.TIME_TO_RESOLVE.help,
            buckets=metrics.RESPONSE_BUCKETS,
            registry=registry,
        )

    def __call__(self, incident: Incident, event: str) -> None:
        """Update the counters for one committed event."""
        if event == "fired":
            self.opened.labels(severity=bounded_severity(incident.severity)).inc()
        elif event == "acknowledged" and incident.acknowledged_at is not None:
            self.to_ack.observe(max(incident.acknowledged_at - incident.started_at, 0.0))
        elif event == "resolved" and incident.resolved_at is not None:
            self.to_resolve.observe(max(incident.resolved_at - incident.started_at, 0.0))
