"""Wasserstein-1 distance, divided by the reference's standard deviation.

Inside the reference's range it is the area between the two cumulative distributions over the
reference's fine bins. Where both sides keep their values' positions in each bin (profiles and
windows written since they exist: histograms.py), the integral of each cumulative distribution
over a bin is exact (``count * width - offset sum``), so the area is exact in every bin where
the two distributions do not cross; in a bin where they do, the difference is taken to switch
from its value at the bin's start to its value at the bin's end at the one point that keeps its
integral exact (``wasserstein_positions``). Measured against ``scipy.stats.wasserstein_distance``
on the raw rows: within 3% for windows of 30 to 200,000 rows, shifted or not, of normal,
lognormal, Pareto, zero-inflated and rounded data (tests/unit/test_wasserstein_exact.py).
Without positions (older profiles or windows) each bin's mass is spread evenly across it
(``wasserstein``), as before. Outside the range the window's tail sums give the area exactly
(``bins.tail_area``).
"""

from __future__ import annotations

import math
from typing import Sequence

from fuseboard.monitoring.drift.base import Method, _props
from fuseboard.monitoring.drift.bins import aligned, positioned, tail_area
from fuseboard.monitoring.histograms import POSITION_UNITS as UNITS
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


def wasserstein_positions(edges: Sequence[float], reference: Sequence[int], reference_positions: Sequence[int],
                          current: Sequence[int], current_positions: Sequence[int]) -> float:
    """The area between two cumulative distributions over fine bins that keep their values' positions.

    Parameters
    ----------
    edges : sequence of float, shape (n_bins + 1,)
        The reference's fine edges, increasing.
    reference : sequence of int, shape (n_bins,)
        The reference's counts per bin; they sum to more than 0.
    reference_positions : sequence of int, shape (n_bins,)
        Per bin, the sum of the reference's values' distances from the bin's left edge, in
        tenths of the bin's width.
    current : sequence of int, shape (n_bins + 2,)
        The window's ``[below, bins..., above]``; they sum to more than 0.
    current_positions : sequence of int, shape (n_bins,)
        As ``reference_positions``, for the window.

    Returns
    -------
    area : float
        >= 0, in the values' own unit: the Wasserstein-1 distance inside ``[edges[0], edges[-1]]``
        (``bins.tail_area`` adds what lies outside).

    Raises
    ------
    ValueError
        Sequences that do not match, or a histogram with no values.
    """
    k = len(edges) - 1
    if not (len(reference) == len(reference_positions) == len(current_positions) == k and len(current) == k + 2):
        raise ValueError("wasserstein_positions needs n_bins + 1 edges, n_bins reference and n_bins + 2 window counts")
    m, n = float(sum(reference)), float(sum(current))
    if m <= 0 or n <= 0:
        raise ValueError("a histogram with no values")
    import numpy as np

    # as arrays: a drift check of 25 features scores 25 of these of ~140 bins, which bin by bin in Python
    # were most of a drift cycle. The same operations in the same order, so the same bits: the gaps
    # accumulate ``(gap + c / n) - r / m`` left to right (cumsum is sequential), the areas too
    c = np.asarray(current[1:-1], dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    steps = np.empty(2 * k + 1)
    steps[0], steps[1::2], steps[2::2] = current[0] / n, c / n, -(r / m)
    d1 = np.cumsum(steps)[2::2]  # F - G at each bin's end
    d0 = np.empty_like(d1)
    d0[0], d0[1:] = current[0] / n, d1[:-1]  # at its start; at the range's start, the window's share below it
    width = np.asarray(edges[1:], dtype=np.float64) - np.asarray(edges[:-1], dtype=np.float64)
    # the integral of F - G over each bin: each side's count * width - offset sum, exactly
    integral = width * (d0 + (c - np.asarray(current_positions, dtype=np.float64) / UNITS) / n
                        - (r - np.asarray(reference_positions, dtype=np.float64) / UNITS) / m)
    with np.errstate(divide="ignore", invalid="ignore"):
        # where they cross: d0 until the point t that keeps the integral, d1 after it
        t = np.minimum(np.maximum((integral - d1 * width) / (d0 - d1), 0.0), width)
        area = np.where(d0 * d1 >= 0, np.abs(integral), np.abs(d0) * t + np.abs(d1) * (width - t))
    kept = area[width > 0]  # a bin of no width adds nothing
    return float(np.add.accumulate(kept)[-1]) if kept.size else 0.0


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """The distance in reference standard deviations (inf when the reference is constant and they differ)."""
    std = reference.get("std") or 0.0
    within = positioned(reference, current)
    if within is not None:
        inside = wasserstein_positions(*within)
    else:
        ref, cur, edges = aligned(reference, current)
        inside = wasserstein(edges, ref, cur)
    distance = inside + tail_area(reference, current)
    return (distance / std if std > 0 else (0.0 if distance == 0 else math.inf)), None
