"""The histograms a drift method compares: reference and window counts over the same bins."""

from __future__ import annotations

from fuseboard.monitoring.shapes import FeatureProfile, NumericProfile, NumericWindow, WindowFeature


def aligned(reference: FeatureProfile, current: WindowFeature
            ) -> tuple[list[float], list[float], list[float] | None]:
    """Reference and current histograms over the same bins (and edges, for numbers).

    Numeric: ``[below, bins..., above]`` over the fine bins as they were before the widest were
    halved for the Wasserstein check (the edges in ``fine["halved"]`` are left out: KS and
    Jensen-Shannon compare the percentile, tail and point-mass bins, not a finer and noisier
    set); the outer bins have no width here (their mass sits at the reference's range ends, see
    ``tail_area``). Categorical: the reference's categories, then ``__unseen__``.

    Parameters
    ----------
    reference : NumericProfile or CategoricalProfile
        The reference's profile of the feature; a numeric one's fine bins are used when it has them.
    current : NumericWindow or CategoricalWindow
        The window's profile of the feature, of the same kind, folded on the reference's bins.

    Returns
    -------
    reference_counts : list of float, shape (n_bins,)
        Numeric: ``n_bins = n_edges + 1`` with the outer two 0; categorical: ``n_categories + 1``
        with the last (``__unseen__``) 0.
    current_counts : list of float, shape (n_bins,)
    edges : list of float, shape (n_bins + 1,), or None
        Numeric: the reference's edges with the first and last repeated (the outer bins' zero
        widths); categorical: None.

    Raises
    ------
    ValueError
        A numeric window not folded on the reference's bins.
    """
    if reference["kind"] == "numeric":
        fine = reference.get("fine") or {"edges": reference["edges"], "counts": reference["counts"]}
        edges = list(fine["edges"])
        cur = current["fine"] if "fine" in current and len(current["fine"]) == len(edges) + 1 else current["counts"]
        if len(cur) != len(edges) + 1:
            raise ValueError("current histogram does not match the reference's bins")
        ref = [0.0, *fine["counts"], 0.0]
        halved = set(fine.get("halved") or []) & set(range(1, len(edges) - 1))
        if halved and len(cur) == len(edges) + 1:  # the bins before halving (see histograms.fine_histogram)
            ref, cur = _joined(ref, halved), _joined(list(cur), halved)
            edges = [e for j, e in enumerate(edges) if j not in halved]
        return ref, list(cur), [edges[0], *edges, edges[-1]]
    categories = list(reference["value_counts"])
    ref = [float(reference["value_counts"][c]) for c in categories] + [0.0]
    counts = current["value_counts"]
    cur = [float(counts.get(c, 0)) for c in categories] + [float(counts.get("__unseen__", 0))]
    return ref, cur, None


def _joined(counts: list, halved: set[int]) -> list:
    """``[below, bins..., above]`` with each bin whose left edge is in ``halved`` added to the one before."""
    out = [counts[0]]
    for b, count in enumerate(counts[1:-1]):
        if b in halved:
            out[-1] += count
        else:
            out.append(count)
    return [*out, counts[-1]]


def positioned(reference: FeatureProfile, current: WindowFeature
               ) -> tuple[list[float], list[int], list[int], list[int], list[int]] | None:
    """The fine bins with where their values lie, on both sides; None when either side lacks them.

    Parameters
    ----------
    reference : NumericProfile or CategoricalProfile
        A numeric one whose ``fine`` keeps ``positions`` (profiles written since they exist).
    current : NumericWindow or CategoricalWindow
        Folded on the reference's fine bins, with ``fine_positions``.

    Returns
    -------
    edges : list of float, shape (n_bins + 1,)
        The reference's fine edges.
    reference_counts, reference_positions : list of int, shape (n_bins,)
    current_counts : list of int, shape (n_bins + 2,)
        ``[below, bins..., above]``.
    current_positions : list of int, shape (n_bins,)
        Or None for a categorical feature, an older profile or window, or bins that do not match.
    """
    if reference.get("kind") != "numeric" or current.get("kind") != "numeric":
        return None
    fine = reference.get("fine") or {}
    edges, counts, at = fine.get("edges"), fine.get("counts"), fine.get("positions")
    cur, cur_at = current.get("fine"), current.get("fine_positions")
    if edges is None or counts is None or at is None or cur is None or cur_at is None:
        return None
    n = len(edges) - 1
    if n < 1 or len(counts) != n or len(at) != n or len(cur) != n + 2 or len(cur_at) != n:
        return None
    return list(edges), list(counts), list(at), list(cur), list(cur_at)


def tail_area(reference: NumericProfile, current: NumericWindow) -> float:
    """The exact area between the two distributions outside the reference's range.

    Below the reference's minimum its distribution is 0, so the area is the mean
    distance of the current values there from that minimum, times their share; the
    same above the maximum. Needs the window's tail sums (see windows.py).

    Parameters
    ----------
    reference : NumericProfile
        Its ``edges`` bound its range (no edges: no area).
    current : NumericWindow
        Folded on the reference's coarse bins; without ``tails`` (older windows), the tail mass is
        taken as spread evenly to the window's min and max.

    Returns
    -------
    area : float
        >= 0, in the values' own unit; 0 for a window without values.
    """
    edges = reference.get("edges") or []
    total = current.get("count", 0)
    if not edges or not total:
        return 0.0
    below, above = current["counts"][0], current["counts"][-1]
    low_sum, high_sum = current.get("tails", (None, None))
    if low_sum is None:  # no tail sums: assume the tail mass spread evenly to the window's min and max
        low_sum = below * (edges[0] + (current.get("min") or edges[0])) / 2
        high_sum = above * (edges[-1] + (current.get("max") or edges[-1])) / 2
    return (below * edges[0] - low_sum + high_sum - above * edges[-1]) / total


def open_deciles(reference: FeatureProfile, current: WindowFeature) -> tuple[list[float], list[float]]:
    """PSI's bins: the reference's deciles, open at both ends (values beyond the reference's range
    count in the outer deciles), as PSI is usually computed; categorical features as ``aligned``.

    So 3% of rows just beyond the range the reference happened to cover move PSI by what they are
    (0.008 more in the top decile), not by an empty bin's floor (0.17 in a bin of their own); how
    far beyond they are is what KS and Wasserstein measure.

    Parameters
    ----------
    reference : NumericProfile or CategoricalProfile
    current : NumericWindow or CategoricalWindow
        Of the same kind, folded on the reference's bins.

    Returns
    -------
    reference_counts, current_counts : list of float, shape (n_bins,)
        Numeric: ten deciles; categorical: as ``aligned``.

    Raises
    ------
    ValueError
        A numeric window not folded on the reference's bins.
    """
    if reference["kind"] != "numeric":
        ref, cur, _ = aligned(reference, current)
        return ref, cur
    counts = list(current["counts"])  # [below, deciles..., above]
    if len(counts) != len(reference["counts"]) + 2:
        raise ValueError("current histogram does not match the reference's bins")
    inner = counts[1:-1]
    inner[0] += counts[0]
    inner[-1] += counts[-1]
    return [float(c) for c in reference["counts"]], inner
