"""Experiment statistics: pure functions from sufficient statistics to verdicts (no I/O).

The daemon needs only these names: build each arm's :class:`Proportion`, :class:`Mean` or
:class:`Ratio`, call :func:`aiwatch.stats.analysis.analyze` with the experiment's config,
serialise with :meth:`ExperimentResult.to_json`. The package itself does not import
``analysis``: that module and its tests load SciPy (tens of MB), which a daemon without
experiments never needs.
"""

from aiwatch.stats.guards import Guard
from aiwatch.stats.result import ExperimentResult, ResultRow, Verdict
from aiwatch.stats.sufficient import Mean, Proportion, Ratio, SufficientStats

__all__ = [
    "ExperimentResult",
    "Guard",
    "Mean",
    "Proportion",
    "Ratio",
    "ResultRow",
    "SufficientStats",
    "Verdict",
]
