"""Multiple-testing correction across variants × metrics, as statsmodels' ``multipletests``.

* Holm–Bonferroni (``method="holm"``) controls the family-wise error rate: with the ``m``
  p-values sorted ascending, ``p̃_(i) = max_{j ≤ i} min(1, (m - j + 1) p_(j))``
  (Holm, Scand. J. Statist. 1979).
* Benjamini–Hochberg (``method="fdr_bh"``) controls the false discovery rate:
  ``p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j)`` (Benjamini & Hochberg, JRSS B 1995).

Adjusted p-values are returned in the input order; compare them with the unadjusted ``α``.
"""

from collections.abc import Sequence
from typing import Literal

Correction = Literal["none", "holm", "bh"]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p_values[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p_values[i] / ((rank + 1) / m))
        adjusted[i] = min(1.0, running)
    return adjusted


def adjust(p_values: Sequence[float], method: Correction) -> list[float]:
    """Adjusted p-values by ``method`` (``none`` returns them unchanged)."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    return [min(1.0, p) for p in p_values]
