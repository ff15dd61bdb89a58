"""Sample ratio mismatch: do the arms' sizes match the configured traffic weights?

Pearson's χ² goodness of fit (``scipy.stats.chisquare``): with ``N`` units in all and weights
``w_i``, the expected count of arm ``i`` is ``E_i = N w_i / Σw``, the statistic is
``Σ (O_i - E_i)² / E_i`` and the p-value is the χ² survival function with ``k - 1`` degrees of
freedom. A p-value below 0.001 means the assignment (or the data collection) is broken and
no comparison between the arms can be trusted (Fabijan et al., KDD 2019).
"""

import math
from collections.abc import Sequence

from scipy import special

SRM_THRESHOLD = 0.001
"""p-values below this flag a mismatch (the industry convention, also GrowthBook's)."""


def srm_p_value(counts: Sequence[float], weights: Sequence[float]) -> float:
    """The χ² goodness-of-fit p-value of ``counts`` against ``weights``.

    Arms with a weight that is not positive are left out (no count is expected there). With
    fewer than two arms left, or no units at all, there is nothing to test and the result is 1.
    """
    pairs = [(float(c), float(w)) for c, w in zip(counts, weights, strict=True) if w > 0]
    total = sum(c for c, _ in pairs)
    total_weight = sum(w for _, w in pairs)
    if len(pairs) < 2 or total <= 0:
        return 1.0
    statistic = 0.0
    for observed, weight in pairs:
        expected = total * (weight / total_weight)
        if expected > 0:
            statistic += (observed - expected) * (observed - expected) / expected
        elif observed > 0:  # a share too small to represent, yet units arrived
            statistic = math.inf
    return float(special.chdtrc(len(pairs) - 1, statistic))


def has_srm(p_value: float) -> bool:
    """Whether the SRM p-value flags a mismatch."""
    return p_value < SRM_THRESHOLD
