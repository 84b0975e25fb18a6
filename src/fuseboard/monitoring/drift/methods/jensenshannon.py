"""Jensen-Shannon distance between the reference's and the window's histograms."""

from __future__ import annotations

import math
from typing import Sequence

from fuseboard.monitoring.drift.base import Method, _props
from fuseboard.monitoring.drift.bins import aligned
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

METHOD = Method("jensenshannon", False, False, 0.1, 0.18)


def jensenshannon(reference: Sequence[float], current: Sequence[float]) -> float:
    """Jensen-Shannon distance (square root of the divergence, natural log), as scipy computes it.

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts (or proportions) per bin; they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.

    Returns
    -------
    distance : float
        In [0, sqrt(ln 2)]: 0 for identical proportions.

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    p, q = _props(reference), _props(current)
    m = [(a + b) / 2 for a, b in zip(p, q)]

    def kl(x: list[float]) -> float:
        return sum(a * math.log(a / b) for a, b in zip(x, m) if a > 0)

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """The distance on the reference's fine bins (numbers) or categories."""
    ref, cur, _ = aligned(reference, current)
    return jensenshannon(ref, cur), None
