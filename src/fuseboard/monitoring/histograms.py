"""The reference's histograms: quantile bins, a bin of its own for each point mass, and per-bin sums.

Numbers are binned at their quantiles. A value that holds at least ``POINT_SHARE`` of the
reference's finite values (the zeros of a zero-inflated amount, the 0 and 1 of a flag kept
numeric, the round values of a rounded measurement) is a *point mass*: it gets a bin of its own,
``[v, nextafter(v, +inf))``, which the histograms' conventions (bins are ``[a, b)``, the last one
closed) fill with exactly that value, and the remaining values get the quantile bins at the same
levels. Bins the reference leaves empty between them are merged into a neighbour (never into a
point's bin from above, so a point's bin holds only the point in the reference). Without a point
mass (or for a constant column) the edges are the plain quantile edges, as before point masses
existed.

The fine bins (``fine_histogram``) are the same at every percentile and at log-spaced levels in
both tails, and then the ``FINE_SPLITS`` bins where the most area between two distributions can
hide (the widest, weighted by the square root of the reference's share in them: the sparse tails
of skewed data) are halved, one at a time, for the Wasserstein check; halves the reference leaves
empty stay. KS and Jensen-Shannon compare the bins before halving (``halved`` lists the edges
added), so their noise on small windows is what it was. They also keep, per
bin, where in the bin its values lie (``bin_positions``: the sum of each value's distance from
the bin's left edge, in tenths of the bin's width, an integer, so windows merge by adding),
from which the Wasserstein check integrates the distributions within each bin exactly (see
drift/methods/wasserstein.py).

All functions take finite values sorted ascending (one sort per column, in profiles.py).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# a value holding at least this share of the reference's finite values gets a bin of its own
POINT_SHARE = 0.05
# fine bins halved after the quantile bins are set (measured on normal, lognormal, Pareto,
# zero-inflated, Poisson and rounded data, references of 1,000 to 100,000 rows, windows of 30 to
# 200,000: the Wasserstein distance within 3.2% of exact with 24, within 3.0% with 48, 7.8% with 16)
FINE_SPLITS = 24
# a bin's values' positions are counted in these units of its width: tenths (rounded once per bin and
# window: at most half a tenth of the bin's width; hundredths measured no closer to exact)
POSITION_UNITS = 10


def sorted_quantiles(xs: np.ndarray, levels: np.ndarray | Sequence[float]) -> np.ndarray:
    """``np.quantile(xs, levels)`` (numpy's default ``linear`` method) of finite values sorted ascending.

    The same arithmetic as numpy's, step for step (indexes, gamma, and its two-sided ``_lerp``), so the
    same bits, without np.quantile's copy and partition of the whole array on every call.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1].

    Returns
    -------
    quantiles : ndarray of shape (n_levels,), float64
        Bit for bit ``np.quantile(xs, levels)``.
    """
    import numpy as np

    n = int(xs.size)
    virtual = (n - 1) * np.asarray(levels, dtype="float64")
    previous = np.floor(virtual)
    following = previous + 1
    top = virtual >= n - 1  # numpy takes the last value there (index -1, which gamma is measured from)
    previous[top] = following[top] = -1
    bottom = virtual < 0
    previous[bottom] = following[bottom] = 0
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    gamma = virtual - previous
    a, b = xs[previous], xs[following]
    diff = b - a
    result = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    return result


def sorted_histogram_counts(xs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(xs, bins=edges)[0]`` for values sorted ascending: bins are [a, b) except the last,
    which also holds b, and values outside [edges[0], edges[-1]] are not counted (numpy locates the edges
    in sorted blocks of the data the same way; ``windows.sorted_histogram`` counts current data alike).

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending.
    edges : ndarray of shape (n_bins + 1,), float64
        Bin edges, increasing; ``n_bins >= 1``.

    Returns
    -------
    counts : ndarray of shape (n_bins,), intp
    """
    import numpy as np

    cumulative = np.concatenate((np.searchsorted(xs, edges[:-1], side="left"),
                                 np.searchsorted(xs, edges[-1:], side="right")))
    return np.diff(cumulative)


def sorted_quantile_histogram(xs: np.ndarray, levels: np.ndarray | Sequence[float]
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Edges at the sorted values' quantiles ``levels`` (repeats dropped) and the count in each bin.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1], increasing, usually from 0 to 1.

    Returns
    -------
    edges : ndarray of shape (n_edges,), float64
        The distinct quantiles, increasing (``n_edges <= n_levels``); a constant column gets the
        two edges ``[value, value]``.
    counts : ndarray of shape (n_edges - 1,), intp
        The values in each bin (as ``sorted_histogram_counts``).
    """
    import numpy as np

    edges = np.unique(sorted_quantiles(xs, levels))
    if edges.size == 1:  # a constant column: one bin around the value
        return np.array([edges[0], edges[0]]), np.array([xs.size])
    return edges, sorted_histogram_counts(xs, edges)


def quantile_histogram(finite: np.ndarray, levels: np.ndarray | Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Edges at the data's quantiles ``levels`` (repeats dropped) and the count in each bin.

    Parameters
    ----------
    finite : ndarray of shape (n_samples,), float64
        Finite values in any order; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1], increasing.

    Returns
    -------
    edges, counts : ndarray
        As ``sorted_quantile_histogram`` returns them.
    """
    import numpy as np

    return sorted_quantile_histogram(np.sort(finite), levels)


def point_masses(xs: np.ndarray, share: float = POINT_SHARE) -> np.ndarray:
    """The values that hold at least ``share`` of the sorted values (each at least twice).

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending.
    share : float, default=POINT_SHARE

    Returns
    -------
    points : ndarray of shape (n_points,), float64
        Increasing; at most ``1 / share`` of them.
    """
    import numpy as np

    n = int(xs.size)
    need = max(2, math.ceil(share * n))
    if n < need:
        return np.empty(0)
    # a run of at least ``need`` equal values holds two grid points ``step`` apart: only the values
    # found so are counted (a few searches instead of a pass over every value)
    step = max(1, need // 2)
    grid = np.arange(0, n - step, step)
    candidates = np.unique(xs[grid][xs[grid] == xs[grid + step]])
    held = np.searchsorted(xs, candidates, side="right") - np.searchsorted(xs, candidates, side="left")
    return candidates[held >= need]


def point_mass_histogram(xs: np.ndarray, levels: np.ndarray | Sequence[float], share: float = POINT_SHARE
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bins, with a bin of its own for each value holding ``share`` of the values.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1], increasing, from 0 to 1: the levels of the other values' bins.
    share : float, default=POINT_SHARE

    Returns
    -------
    edges : ndarray of shape (n_edges,), float64
        Increasing. Each point mass ``v`` is the left edge of a bin that holds exactly ``v`` among
        ``xs`` (its right edge is ``nextafter(v, inf)`` or the next value's bin); without a point
        mass, or when ``xs`` is one repeated value, ``sorted_quantile_histogram``'s edges.
    counts : ndarray of shape (n_edges - 1,), intp
        The values in each bin (as ``sorted_histogram_counts``); none is 0.
    """
    import numpy as np

    points = point_masses(xs, share)
    if points.size == 0 or (points.size == 1 and xs[0] == xs[-1]):
        return sorted_quantile_histogram(xs, levels)
    lower = np.searchsorted(xs, points, side="left")
    upper = np.searchsorted(xs, points, side="right")
    keep = np.ones(xs.size, dtype=bool)
    for lo, hi in zip(lower.tolist(), upper.tolist()):
        keep[lo:hi] = False
    rest = xs[keep]
    with np.errstate(over="ignore"):
        after = np.nextafter(points, np.inf)
    after = after[np.isfinite(after)]  # float max: its bin is the closed last one
    parts = [points, after]
    if rest.size:
        parts.append(np.unique(sorted_quantiles(rest, levels)))
    edges = np.unique(np.concatenate(parts))
    tops = set(after.tolist())
    own = set(points.tolist())
    while True:  # merge the bins the reference leaves empty into a neighbour
        counts = sorted_histogram_counts(xs, edges)
        empty = np.flatnonzero(counts == 0)
        if empty.size == 0:
            return edges, counts
        drop = set()
        for i in empty.tolist():  # never the first or last bin (they hold the extremes): 0 < i < len - 1
            left, right = float(edges[i]), float(edges[i + 1])
            # just above a point: the gap joins the bin above it (the point's bin stays the point alone)
            drop.add(i + 1 if left in tops and right not in own else i)
        edges = np.delete(edges, sorted(drop))


def fine_histogram(xs: np.ndarray, levels: np.ndarray | Sequence[float], splits: int = FINE_SPLITS
                   ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``point_mass_histogram``'s bins, then the ``splits`` bins with the most room for error halved.

    A bin's room for error in the Wasserstein distance grows with its width and with the
    fluctuation of the two distributions in it, about the square root of its share of values:
    the bin with the largest ``width * sqrt((count + 1) / n_samples)`` is halved, ``splits``
    times (a bin too narrow to halve in floating point is left alone).

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1], increasing, from 0 to 1.
    splits : int, default=FINE_SPLITS

    Returns
    -------
    edges : ndarray of shape (n_edges,), float64
        Increasing (``[v, v]`` for a constant column, which has nothing to split).
    counts : ndarray of shape (n_edges - 1,), intp
        The values in each bin (as ``sorted_histogram_counts``); halves may be 0.
    halved : list of int
        The positions in ``edges`` of the edges that halved a bin, increasing (KS and Jensen-Shannon
        compare the bins without them: ``drift.bins.aligned``).
    """
    import numpy as np

    edges, counts = point_mass_histogram(xs, levels)
    if edges[0] == edges[-1]:
        return edges, counts, []
    edges, counts = list(edges.tolist()), list(counts.tolist())
    added = [False] * len(edges)
    n = float(xs.size)
    with np.errstate(over="ignore", invalid="ignore"):
        widths = np.diff(np.asarray(edges)) * np.sqrt((np.asarray(counts) + 1.0) / n)
    scores = [w if np.isfinite(w) else np.inf for w in widths.tolist()]
    for _ in range(splits):
        i = int(np.argmax(scores))
        if scores[i] <= 0:
            break
        a, b = edges[i], edges[i + 1]
        mid = a / 2 + b / 2  # halved first: no overflow near float max
        if not a < mid < b:  # too narrow to halve: never again
            scores[i] = 0.0
            continue
        lo = int(np.searchsorted(xs, a, side="left"))
        at = int(np.searchsorted(xs, mid, side="left"))
        left, right = at - lo, counts[i] - (at - lo)
        edges.insert(i + 1, mid)
        added.insert(i + 1, True)
        counts[i:i + 1] = [left, right]
        scores[i:i + 1] = [(mid - a) * math.sqrt((left + 1) / n), (b - mid) * math.sqrt((right + 1) / n)]
    return np.asarray(edges), np.asarray(counts), [i for i, new in enumerate(added) if new]


def raw_offsets(xs: np.ndarray, edges: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per bin, the sum of its values' distances from the bin's left edge.

    Each bin's values are summed and its count times its left edge taken off: precise to about
    ``magnitude / width * 1e-16`` of a bin's width per value, so where a bin is narrower than a
    ``1e-10`` of its edges' magnitude (values far from zero, bins close together) each value's
    distance is taken in double precision before summing instead. A point mass's bin
    ``[v, nextafter(v))`` holds only ``v``: 0.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending.
    edges : ndarray of shape (n_bins + 1,), float64
    bounds : ndarray of shape (n_bins + 1,), intp
        ``xs[bounds[i]:bounds[i + 1]]`` are bin ``i``'s values.

    Returns
    -------
    offsets : ndarray of shape (n_bins,), float64
    """
    import numpy as np

    counts = np.diff(bounds)
    out = np.zeros(counts.size)
    held = np.flatnonzero(counts)
    if held.size == 0:
        return out
    values = xs[bounds[0]:bounds[-1]]
    with np.errstate(over="ignore", invalid="ignore"):
        point = edges[1:] == np.nextafter(edges[:-1], np.inf)
        scale = np.maximum(np.abs(edges[:-1]), np.abs(edges[1:]))
        if np.all(point | (scale * 1e-10 <= np.diff(edges))):
            out[held] = np.add.reduceat(values, bounds[held] - bounds[0]) - counts[held] * edges[:-1][held]
            out[point] = 0.0
            return out
        distances = np.subtract(values, np.repeat(edges[:-1], counts), dtype="float64")
        out[held] = np.add.reduceat(distances, bounds[held] - bounds[0])
    return out


def positions(offsets: np.ndarray, edges: np.ndarray) -> list[int]:
    """Offset sums (``raw_offsets``) as stored: in ``POSITION_UNITS`` of each bin's width, rounded.

    Parameters
    ----------
    offsets : ndarray of shape (n_bins,), float64
    edges : ndarray of shape (n_bins + 1,), float64

    Returns
    -------
    positions : list of int, n_bins entries
        >= 0; 0 for a bin without width (or values beyond float's range).
    """
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        widths = np.diff(np.asarray(edges, dtype="float64"))
        units = np.rint(np.asarray(offsets) / widths * POSITION_UNITS)
    units[~np.isfinite(units) | (units < 0) | ~(widths > 0)] = 0
    return [int(u) for u in units.tolist()]


def bin_positions(xs: np.ndarray, edges: np.ndarray) -> list[int]:
    """Per bin, where its values lie: the sum of their distances from its left edge, in
    ``POSITION_UNITS`` of its width (rounded; with the bin's count, the integral of the values'
    cumulative distribution over the bin: ``width * (count - positions / POSITION_UNITS)``).

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending.
    edges : ndarray of shape (n_bins + 1,), float64
        Increasing, binned as ``sorted_histogram_counts`` bins them.

    Returns
    -------
    positions : list of int, n_bins entries
    """
    import numpy as np

    if edges.size < 2:
        return []
    bounds = np.concatenate((np.searchsorted(xs, edges[:-1], side="left"),
                             np.searchsorted(xs, edges[-1:], side="right")))
    return positions(raw_offsets(xs, edges, bounds), edges)
