"""Experiment statistics: pure functions from sufficient statistics to verdicts (no I/O).

The daemon needs only these names: build each arm's :class:`Proportion`, :class:`Mean` or
:class:`Ratio`, call :func:`analyze` with the experiment's config, serialise with
:meth:`ExperimentResult.to_json`.
"""

from aiwatch.stats.analysis import Data, analyze
from aiwatch.stats.guards import Guard
from aiwatch.stats.result import ExperimentResult, ResultRow, Verdict
from aiwatch.stats.sufficient import Mean, Proportion, Ratio, SufficientStats

__all__ = [
    "Data",
    "ExperimentResult",
    "Guard",
    "Mean",
    "Proportion",
    "Ratio",
    "ResultRow",
    "SufficientStats",
    "Verdict",
    "analyze",
]
