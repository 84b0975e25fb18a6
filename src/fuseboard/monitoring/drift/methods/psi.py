"""Population stability index over the reference's deciles, open at both ends."""

from __future__ import annotations

import math
from typing import Sequence

from fuseboard.monitoring.drift.base import Method, _props
from fuseboard.monitoring.drift.bins import open_deciles
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

EPS = 1e-4  # floor for empty-bin proportions in PSI
METHOD = Method("psi", False, False, 0.1, 0.25)


def psi(reference: Sequence[float], current: Sequence[float], eps: float = EPS) -> float:
    """Population stability index: sum((q - p) * ln(q / p)), empty bins floored at ``eps``.

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts (or proportions) per bin; they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.
    eps : float, default=1e-4
        Floor for a bin's proportion (an empty bin would make the index infinite).

    Returns
    -------
    psi : float
        0 for identical proportions, larger the more they differ (>= 0.1 drifts, >= 0.25 badly).

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    p = [max(x, eps) for x in _props(reference)]
    q = [max(x, eps) for x in _props(current)]
    return float(sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q)))


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """PSI of ``current`` against ``reference`` on PSI's bins (``open_deciles``)."""
    ref, cur = open_deciles(reference, current)
    return psi(ref, cur), None
