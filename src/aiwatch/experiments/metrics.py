"""The ``aiwatch_experiment_*`` metrics, read from each experiment's latest analysis at scrape."""

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from aiwatch import metrics
from aiwatch.experiments.tracker import Live
from aiwatch.stats import ResultRow

ROW_LABELS = ["experiment", "variant", "metric"]
"""The documented labels. The guard is its own series (``aiwatch_experiment_guard``): as a label
here, every guard change (``n_below_2`` → none → ``too_few_samples`` …) would end each
series of the row and start another."""


def _row_values(row: ResultRow) -> dict[metrics.MetricDef, float | None]:
    return {
        metrics.EXPERIMENT_SAMPLES: float(row.n),
        metrics.EXPERIMENT_LIFT: row.lift,
        metrics.EXPERIMENT_LIFT_LOWER: row.ci[0] if row.ci is not None else None,
        metrics.EXPERIMENT_LIFT_UPPER: row.ci[1] if row.ci is not None else None,
        metrics.EXPERIMENT_P_VALUE: row.p_value,
        metrics.EXPERIMENT_CHANCE_TO_WIN: row.chance_to_win,
        metrics.EXPERIMENT_SAMPLES_NEEDED: (
            float(row.power.samples_needed) if row.power is not None else None
        ),
    }


class ExperimentCollector:
    """A prometheus-client collector over the tracker's experiments; a null value has no series."""

    def __init__(self, experiments: Callable[[], Iterable[Live]]) -> None:
        self._experiments = experiments

    def collect(self) -> Iterator[Metric]:
        """One family per metric; rows without a value (a guard, the control's lift) omitted."""
        families = {
            d: GaugeMetricFamily(d.name, d.help, labels=ROW_LABELS)
            for d in (
                metrics.EXPERIMENT_SAMPLES,
                metrics.EXPERIMENT_LIFT,
                metrics.EXPERIMENT_LIFT_LOWER,
                metrics.EXPERIMENT_LIFT_UPPER,
                metrics.EXPERIMENT_P_VALUE,
                metrics.EXPERIMENT_CHANCE_TO_WIN,
                metrics.EXPERIMENT_SAMPLES_NEEDED,
            )
        }
        guards = GaugeMetricFamily(
            metrics.EXPERIMENT_GUARD.name,
            metrics.EXPERIMENT_GUARD.help,
            labels=[*ROW_LABELS, "guard"],
        )
        srm = GaugeMetricFamily(
            metrics.EXPERIMENT_SRM_P_VALUE.name,
            metrics.EXPERIMENT_SRM_P_VALUE.help,
            labels=["experiment"],
        )
        for live in self._experiments():
            result = live.result()
            srm.add_metric([result.name], result.srm_p_value)
            for row in result.results:
                labels = [result.name, row.variant, row.metric]
                for definition, value in _row_values(row).items():
                    if value is not None:
                        families[definition].add_metric(labels, value)
                if row.guard is not None:
                    guards.add_metric([*labels, row.guard.value], 1.0)
        yield from families.values()
        yield guards
        yield srm
