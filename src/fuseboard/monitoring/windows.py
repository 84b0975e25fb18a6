"""Window profiles: what a batch of inference rows looked like, folded into counts.

A window profile summarises the rows of one model version in one environment
over one time window, feature by feature, on the reference profile's bins.
Raw rows are never kept: profiles are small, and ``merge_all`` (window_merge.py) adds
them exactly (counts add; means and variances combine with Chan's formula), so
five-minute windows can be rolled up into hours and days without loss. Their shapes
are ``shapes.NumericWindow`` and ``shapes.CategoricalWindow``.

Numeric feature::

    {"kind": "numeric", "count", "nulls", "mean", "m2", "min", "max",
     "counts": [below, deciles..., above], "fine": [below, percentiles..., above],
     "tails": [sum of the values below the reference's range, sum of those above],
     "fine_positions": [where the values lie in each fine bin...]}

The tail sums place the mass outside the reference's range exactly, which the
Wasserstein distance needs (the reference has no bins there to spread it over);
``fine_positions`` (against a reference whose fine bins keep ``positions``) place it inside
each fine bin: per bin, the sum of its values' distances from the bin's left edge, in
tenths of the bin's width (histograms.py). Integers, so merged windows add them exactly.

Categorical feature::

    {"kind": "categorical", "count", "nulls",
     "value_counts": {reference categories..., "__unseen__": n}, "unseen": {value: n, ...}}

``unseen`` keeps the most frequent categories the reference never had (at most
``MAX_UNSEEN``) so data-quality findings can name them. A value the reference had
but did not keep among its most frequent (see profiles.py, ``other_hashes``) counts
in the reference's ``__other__`` bucket, not as unseen.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from fuseboard.monitoring.histograms import bin_positions, positions
from fuseboard.monitoring.shapes import CategoricalProfile, CategoricalWindow, NumericProfile, NumericWindow

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# merging lives in window_merge.py; its functions are imported from here too
from fuseboard.monitoring.window_merge import (BIGGEST, MAX_UNSEEN, merge_all, merge_feature,  # noqa: F401
                                               saturate, variance)

UNSEEN = "__unseen__"


def sorted_histogram(xs: np.ndarray, edges: Sequence[float]) -> list[int]:
    """Counts of sorted finite values in ``[below, bins..., above]``.

    Bins are [a, b) except the last, which also holds b, as numpy.histogram counts.
    Sorting first and locating the edges in the sorted values is several times faster
    than locating each value among the edges.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending.
    edges : sequence of float, shape (n_bins + 1,)
        A reference's bin edges, increasing.

    Returns
    -------
    counts : list of int, n_bins + 2 entries
        The values below ``edges[0]``, in each bin, and above ``edges[-1]``; they sum to
        ``n_samples``. Fewer than two edges: ``[0, n_samples, 0]``.
    """
    import numpy as np

    n = int(xs.size)
    k = len(edges) - 1
    if k < 1:
        return [0, n, 0]
    e = np.asarray(edges, dtype="float64")
    left = np.searchsorted(xs, e, side="left")
    top = int(np.searchsorted(xs, e[-1], side="right"))
    inner = np.diff(left)
    inner[-1] = top - left[-2]
    return [int(left[0]), *inner.tolist(), n - top]


def fold_sorted(xs: np.ndarray, nulls: int, reference: NumericProfile) -> NumericWindow:
    """Profile sorted finite values (plus ``nulls`` missing ones) on the reference's bins.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        The window's finite values, sorted ascending.
    nulls : int
        The window's missing, unparseable and infinite values.
    reference : NumericProfile
        Its ``edges`` (and ``fine`` edges) give the bins; without edges (``{}``), every value
        counts in the middle bin of ``[0, n_samples, 0]``.

    Returns
    -------
    window : NumericWindow
        ``counts`` and ``fine`` have ``len(edges) + 1`` entries; sums that overflow saturate at
        float max.
    """
    import numpy as np

    n = int(xs.size)
    out: NumericWindow = {"kind": "numeric", "count": n, "nulls": int(nulls)}
    edges = reference.get("edges") or []
    fine_edges = (reference.get("fine") or {}).get("edges") or edges
    if n:
        with np.errstate(over="ignore", invalid="ignore"):
            mean = float(xs.mean())
            if not np.isfinite(mean):  # values near float max overflow the sum: average them scaled down
                scale = max(abs(float(xs[0])), abs(float(xs[-1])))
                mean = float((xs / scale).mean()) * scale
            deviations = xs - mean
            deviations *= deviations  # not a BLAS dot: OpenBLAS's own threads fight the fold threads
            m2 = saturate(deviations.sum())
        out.update(mean=saturate(mean), m2=m2, min=float(xs[0]), max=float(xs[-1]))
    else:
        out.update(mean=0.0, m2=0.0, min=None, max=None)
    out["counts"] = sorted_histogram(xs, edges) if edges else [0, n, 0]
    out["fine"] = sorted_histogram(xs, fine_edges) if fine_edges else [0, n, 0]
    below, above = (out["counts"][0], out["counts"][-1]) if edges else (0, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        out["tails"] = [saturate(xs[:below].sum()), saturate(xs[n - above:].sum()) if above else 0.0]
    if _wants_positions(reference, fine_edges):
        out["fine_positions"] = bin_positions(xs, np.asarray(fine_edges, dtype="float64"))
    return out


def _wants_positions(reference: NumericProfile, fine_edges: Sequence[float]) -> bool:
    """Whether a window keeps ``fine_positions``: its reference's fine bins keep ``positions``."""
    fine = reference.get("fine") or {}
    return "positions" in fine and len(fine_edges) >= 2 and len(fine["positions"]) == len(fine_edges) - 1


RESOLUTION = 100  # float32 steps a fine bin must be wide for positions read from float32 values (a value
# rounded to float32 moves by at most half a step: 0.5% of such a bin's width)


def _single_positions(fine: Any) -> Any:
    """Per fine bin, whether it has no width to speak of (a point mass's ``[v, nextafter(v))``, or a
    constant column's ``[v, v]``: its values are ``v``, at position 0); None when another bin is too
    narrow for positions read from float32 values (fewer than ``RESOLUTION`` float32 steps wide:
    they are read in double instead)."""
    import numpy as np

    widths = np.diff(fine)
    point = (fine[1:] == np.nextafter(fine[:-1], np.inf)) | (widths == 0)
    with np.errstate(over="ignore"):
        step = np.maximum(np.abs(fine[:-1]), np.abs(fine[1:])) * 2.0 ** -23
    if not np.all(point | (widths >= RESOLUTION * step)):
        return None
    return point


def fold_numeric(values: np.ndarray | Sequence[float], reference: NumericProfile) -> NumericWindow:
    """Profile one numeric column (a float array; NaN and infinities count as null) on the reference's bins.

    Parameters
    ----------
    values : array-like of shape (n_rows,), float64 or convertible to it
        One window's values, in any order.
    reference : NumericProfile
        As ``fold_sorted`` reads it.

    Returns
    -------
    window : NumericWindow
    """
    import numpy as np

    ordered = np.sort(np.asarray(values, dtype="float64"))  # -inf first, then +inf, then NaN last
    lo = int(np.searchsorted(ordered, -np.inf, side="right"))
    hi = int(np.searchsorted(ordered, np.inf, side="left"))
    return fold_sorted(ordered[lo:hi], ordered.size - (hi - lo), reference)


MAX_AMBIGUOUS = 8  # edges a window may tie with in single precision before it is sorted in double instead


def _single_below(f: Any, x: Any, x32: Any, edges: Any, edges32: Any) -> tuple[Any, int] | None:
    """The values of ``x`` below each edge and those at or below the top edge, from ``f``, its values
    rounded to float32 and sorted (``x32``: the same, unsorted); None if too many values tie with an
    edge in single precision.

    Rounding is monotone, so a value whose float32 is below an edge's float32 is below the edge,
    and one above is above; only values that round to the same float32 as an edge are compared
    again in double precision (about one edge in a hundred, on continuous data).
    """
    import numpy as np

    below = f.searchsorted(edges32, side="left")
    tied = f.searchsorted(edges32, side="right")
    tied -= below
    at_most_top = int(below[-1] + tied[-1])
    if not tied.any():  # the usual case: no value rounds to an edge
        return below, at_most_top
    ambiguous = np.flatnonzero(tied)
    if ambiguous.size > MAX_AMBIGUOUS:
        return None
    for j in ambiguous.tolist():
        candidates = x[x32 == edges32[j]]
        if j == len(edges) - 1:
            at_most_top = int(below[j] + np.count_nonzero(candidates <= edges[j]))
        below[j] += int(np.count_nonzero(candidates < edges[j]))
    return below, at_most_top


def _from_below(below: Any, at_most_top: int, n: int) -> list[int]:
    """``sorted_histogram``'s counts from the values below each edge and those at or below the top."""
    inner = (below[1:] - below[:-1]).tolist()  # Python ints in one call (int() of each: 25 us a window)
    inner[-1] = at_most_top - int(below[-2])
    return [int(below[0]), *inner, n - at_most_top]


PIECE = 1 << 17  # values of a window folded at a time: their doubles and float32 copies stay in cache
CANCELLATION = 1e-6  # sum of squares minus n mean^2 is kept while it keeps 10 of its 16 digits


def fold_numeric_windows(column: np.ndarray, windows_idx: Sequence[slice | np.ndarray], reference: NumericProfile
                         ) -> list[NumericWindow]:
    """``fold_numeric`` of each window of a column, the same counts at about half the cost.

    Sorting is most of a fold, and float32 sorts twice as fast as float64: windows of finite values
    are counted from their values rounded to float32 and sorted, ties with an edge settled in double
    precision (``_single_below``; both histograms from one search of their edges together); the
    moments come from the doubles, in as few passes as they allow (the second moment from the sum
    of squares unless that loses precision to cancellation).
    Windows with nulls or infinities, and columns whose values keep tying with the edges (integers,
    say), are sorted in double precision as ``fold_numeric`` does.

    Parameters
    ----------
    column : ndarray of shape (n_rows,), float64
        A batch's values of one column, in row order.
    windows_idx : sequence of slice or ndarray of intp, n_windows entries
        The rows of each window (a slice, or row positions), as ``column[idx]`` selects them.
    reference : NumericProfile
        As ``fold_sorted`` reads it.

    Returns
    -------
    windows : list of NumericWindow, n_windows entries
        The counts ``fold_numeric`` gives each window; the moments agree with it to rounding.
    """
    import numpy as np

    edges = np.asarray(reference.get("edges") or [], dtype="float64")
    fine = np.asarray((reference.get("fine") or {}).get("edges") or edges, dtype="float64")
    single = edges.size >= 2 and fine.size >= 2 and np.unique(edges).size == edges.size
    wanted = _wants_positions(reference, fine)
    points = _single_positions(fine) if single and wanted else None
    single = single and (points is not None or not wanted)
    # both histograms from one set of edges (the coarse ones are mostly fine ones too; the top is shared)
    union = np.unique(np.concatenate([edges, fine])) if single and edges[-1] == fine[-1] else edges
    coarse_at, fine_at = np.searchsorted(union, edges), np.searchsorted(union, fine)
    with np.errstate(over="ignore"):
        edges32, fine32, union32 = edges.astype(np.float32), fine.astype(np.float32), union.astype(np.float32)
    sizes = [int(np.size(column[idx])) for idx in windows_idx] if single else []
    unsorted32 = np.empty(min(PIECE, max(sizes, default=0)), dtype=np.float32)  # reused: no page faults
    sorted32 = np.empty_like(unsorted32)

    def fold_piece(x: Any) -> tuple | str:
        """(sum, sum of squares, [(values below each edge, at or below the top)] for both histograms,
        [sum, least] below the reference's range, [sum, most] above it) of some finite values;
        "nonfinite" or "ties" when single precision cannot count them."""
        n = int(x.size)
        total = float(np.einsum("i->", x))  # einsum's sums: twice as fast as pairwise, as exact here
        squares = float(np.einsum("i,i->", x, x))  # not a BLAS dot: its threads fight the folds
        if not squares - squares == 0.0:  # NaN, infinity or an overflow: not for single precision
            return "nonfinite"
        x32, f = unsorted32[:n], sorted32[:n]
        np.copyto(x32, x, casting="same_kind")
        np.copyto(f, x32)
        f.sort()
        if union is edges:  # different tops: each histogram on its own
            found = [_single_below(f, x, x32, edges, edges32), _single_below(f, x, x32, fine, fine32)]
        else:
            shared = _single_below(f, x, x32, union, union32)
            found = [shared and (shared[0][coarse_at], shared[1]), shared and (shared[0][fine_at], shared[1])]
        if not all(found):
            return "ties"
        offsets = None
        if wanted:  # each fine bin's values, as sorted in single precision (ties with an edge can
            # swap bins: a value within a float32 step of an edge, a hundredth of the bin's width)
            bounds = np.append(found[1][0][:-1], found[1][1])
            counts = np.diff(bounds)
            held = counts > 0
            offsets = np.zeros(counts.size)
            if held.any():  # one pass: each bin's sum, added up in double precision
                offsets[held] = np.add.reduceat(f[:int(bounds[-1])], bounds[:-1][held], dtype=np.float64)
            offsets -= counts * fine[:-1]
            offsets[points] = 0.0
        low, high = [0.0, None], [0.0, None]
        below, at_most_top = found[0][0][0], found[0][1]
        if below or at_most_top < n:  # the few values beyond the reference's range: found in single
            # precision (half the bytes to compare), then told apart in double; the extremes are among them
            outside = x[(x32 <= edges32[0]) | (x32 >= edges32[-1])]
            if below:
                values = outside[outside < edges[0]]
                low = [float(values.sum()), float(values.min())]
            if at_most_top < n:
                values = outside[outside > edges[-1]]
                high = [float(values.sum()), float(values.max())]
        return total, squares, found, low, high, offsets

    out = []
    # values beyond float32 become infinity (still above every edge); a window's sums cannot overflow
    # in single precision's path (its squares are finite), and fold_numeric saturates its own
    with np.errstate(over="ignore", invalid="ignore"):
        for idx in windows_idx:
            x = np.asarray(column[idx], dtype="float64")
            n = int(x.size)
            pieces: list[Any] = []
            if single and n:  # a piece at a time, so every pass over it stays in the processor's cache
                for start in range(0, n, PIECE):
                    pieces.append(fold_piece(x[start:start + PIECE]))
                    if isinstance(pieces[-1], str):
                        single = pieces[-1] != "ties"  # values that tie with the edges: the rest in double
                        break
            if not pieces or isinstance(pieces[-1], str):
                out.append(fold_numeric(x, reference))
                continue
            if len(pieces) == 1:
                total, squares, found, _, _, _ = pieces[0]
            else:
                total, squares = sum(p[0] for p in pieces), sum(p[1] for p in pieces)
                if not math.isfinite(squares):  # each piece's sum was finite, their total is not: saturate
                    out.append(fold_numeric(x, reference))
                    continue
                found = [(sum(p[2][h][0] for p in pieces), sum(p[2][h][1] for p in pieces)) for h in (0, 1)]
            counted = [_from_below(*found[h], n) for h in (0, 1)]
            mean = total / n
            m2 = squares - total * mean
            if not m2 > CANCELLATION * squares:  # the difference of two close sums: from the deviations
                deviations = x - mean
                m2 = float(np.einsum("i,i->", deviations, deviations))
            least = [p[3][1] for p in pieces if p[3][1] is not None]
            most = [p[4][1] for p in pieces if p[4][1] is not None]
            window: NumericWindow = {
                "kind": "numeric", "count": n, "nulls": 0, "mean": mean, "m2": m2,
                "min": min(least) if least else float(x.min()), "max": max(most) if most else float(x.max()),
                "counts": counted[0], "fine": counted[1],
                "tails": [sum(p[3][0] for p in pieces), sum(p[4][0] for p in pieces)]}
            if wanted:
                window["fine_positions"] = positions(sum(p[5] for p in pieces), fine)
            out.append(window)
    return out


OTHER = "__other__"  # profiles.OTHER: the reference's values beyond the ones it kept


def in_other(dictionary: list[str], reference: CategoricalProfile) -> np.ndarray | None:
    """Per value of ``dictionary`` (a column's distinct values): whether it is one of the reference's
    values beyond those it kept, i.e. counts as ``__other__``; None when there are none to match.

    Only the values the reference did not keep are hashed (once per batch and column, not per row),
    and looked up in its sorted hashes with one search.

    Parameters
    ----------
    dictionary : list of str, n_values entries
        Distinct values, as text.
    reference : CategoricalProfile
        Its ``value_counts`` (the kept values) and ``other_hashes`` are read.

    Returns
    -------
    mask : ndarray of shape (n_values,), bool, or None
        None when the reference has no ``other_hashes`` (no rest, or a profile older than them).
    """
    import numpy as np

    if "other_hashes" not in reference:  # no rest, or a profile from before the hashes: nothing is "other"
        return None
    kept = reference.get("value_counts", {})
    outside = [i for i, value in enumerate(dictionary) if value not in kept]
    mask = np.zeros(len(dictionary), dtype=bool)
    if not outside:
        return mask
    packed = reference["other_hashes"]
    if packed is None:  # too many values to list: all that is not kept is the reference's rest
        mask[outside] = True
        return mask
    from fuseboard.monitoring.profiles import unpack_hashes, value_hashes

    known = unpack_hashes(packed)
    if known.size:
        hashes = value_hashes([dictionary[i] for i in outside])
        found = np.minimum(np.searchsorted(known, hashes), known.size - 1)
        mask[outside] = known[found] == hashes
    return mask


def fold_counts(counts: np.ndarray | Sequence[int], dictionary: list[str], nulls: int,
                reference: CategoricalProfile, other: np.ndarray | None = None) -> CategoricalWindow:
    """Profile a categorical column from the count of each distinct value (``dictionary`` order).

    ``other``: ``in_other(dictionary, reference)``, when the caller worked it out once for several
    windows; else it is worked out here.

    Parameters
    ----------
    counts : array-like of shape (n_values,), int
        The window's rows holding each value of ``dictionary`` (0 is allowed).
    dictionary : list of str, n_values entries
        Distinct values, as text.
    nulls : int
        The window's missing values.
    reference : CategoricalProfile
        Its ``value_counts`` keys are the categories counted by name (``other_hashes``: see
        ``in_other``).
    other : ndarray of shape (n_values,), bool, optional

    Returns
    -------
    window : CategoricalWindow
    """
    value_counts = {c: 0 for c in reference.get("value_counts", {})}
    if other is None:
        other = in_other(dictionary, reference)
    unseen: list[tuple[int, str]] = []
    unseen_total = 0
    for i, (value, count) in enumerate(zip(dictionary, counts)):
        count = int(count)
        if not count:
            continue
        if value in value_counts:
            value_counts[value] += count
        elif other is not None and other[i]:
            value_counts[OTHER] += count
        else:
            unseen_total += count
            unseen.append((count, value))
    value_counts[UNSEEN] = unseen_total
    top = sorted(unseen, key=lambda cv: (-cv[0], cv[1]))[:MAX_UNSEEN]
    return {"kind": "categorical", "count": int(sum(int(c) for c in counts)), "nulls": int(nulls),
            "value_counts": value_counts, "unseen": {v: c for c, v in top}}


def fold_categorical(values: Any, reference: CategoricalProfile) -> CategoricalWindow:
    """Profile one categorical column (any array; None/NaN count as null) against the reference's categories.

    Parameters
    ----------
    values : array-like of shape (n_rows,)
        Any values; each counts by its text (``categories.canonical``: 1.0 as ``"1"``, as the
        reference counted it).
    reference : CategoricalProfile
        As ``fold_counts`` reads it.

    Returns
    -------
    window : CategoricalWindow
    """
    import pandas as pd

    from fuseboard.monitoring.categories import str_value_counts

    series = pd.Series(values)
    counts = str_value_counts(series)
    return fold_counts(counts.to_numpy(), [str(v) for v in counts.index], int(series.isna().sum()), reference)

