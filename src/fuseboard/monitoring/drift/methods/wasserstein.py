"""Wasserstein-1 distance, divided by the reference's standard deviation."""

from __future__ import annotations

import math
from typing import Sequence

from fuseboard.monitoring.drift.base import Method, _props
from fuseboard.monitoring.drift.bins import aligned, tail_area
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

METHOD = Method("wasserstein", True, False, 0.1)


def wasserstein(edges: Sequence[float], reference: Sequence[float], current: Sequence[float]) -> float:
    """Wasserstein-1 distance between two histograms, mass spread evenly within each bin.

    ``edges`` has one more entry than the histograms. Between two edges both
    cumulative distributions are straight lines, so the area between them is
    integrated exactly.

    Parameters
    ----------
    edges : sequence of float, shape (n_bins + 1,)
        Bin edges, non-decreasing; a bin of no width adds nothing (its mass moves the distributions on).
    reference : sequence of float, shape (n_bins,)
        The reference's counts (or proportions) per bin; they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.

    Returns
    -------
    distance : float
        >= 0, in the values' own unit (``feature_drift`` divides it by the reference's std).

    Raises
    ------
    ValueError
        Histograms and edges that do not match, or a histogram with no values.
    """
    if len(edges) != len(reference) + 1 or len(reference) != len(current):
        raise ValueError("wasserstein needs len(edges) == len(histogram) + 1")
    p, q = _props(reference), _props(current)
    area = cum_p = cum_q = 0.0
    for i, (pi, qi) in enumerate(zip(p, q)):
        width = edges[i + 1] - edges[i]
        d0 = cum_p - cum_q
        cum_p += pi
        cum_q += qi
        d1 = cum_p - cum_q
        if width <= 0:
            continue
        if d0 * d1 >= 0:
            area += (abs(d0) + abs(d1)) / 2 * width
        else:  # the gap changes sign inside the bin: two triangles
            area += (d0 * d0 + d1 * d1) / (2 * (abs(d0) + abs(d1))) * width
    return area


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """The distance in reference standard deviations (inf when the reference is constant and they differ)."""
    ref, cur, edges = aligned(reference, current)
    std = reference.get("std") or 0.0
    distance = wasserstein(edges, ref, cur) + tail_area(reference, current)
    return (distance / std if std > 0 else (0.0 if distance == 0 else math.inf)), None
