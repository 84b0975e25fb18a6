"""Population stability index over the reference's deciles, open at both ends."""

from __future__ import annotations

import math
from typing import Sequence

from fuseboard.monitoring.drift.base import Method
from fuseboard.monitoring.drift.bins import open_deciles
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

SMOOTHING = 0.5  # values added to every bin of each histogram (half a value) before taking proportions
METHOD = Method("psi", False, False, 0.1, 0.25)


def smoothed(counts: Sequence[float], smoothing: float = SMOOTHING) -> list[float]:
    """Proportions with ``smoothing`` values added to every bin: ``(c + s) / (n + s * k)``.

    Parameters
    ----------
    counts : sequence of float, shape (k,)
        Values per bin; they sum to more than 0.
    smoothing : float, default=0.5

    Returns
    -------
    proportions : list of float, shape (k,)
        Each > 0 (for ``smoothing`` > 0); they sum to 1.

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("a histogram with no values has no proportions")
    denominator = total + smoothing * len(counts)
    return [(c + smoothing) / denominator for c in counts]


def psi(reference: Sequence[float], current: Sequence[float], smoothing: float = SMOOTHING) -> float:
    """Population stability index: sum((q - p) * ln(q / p)), each histogram smoothed by half a value per bin.

    An empty bin would make the index infinite. Instead of flooring its proportion at a fixed
    value (1e-4 used to be the floor, whatever the sample's size), every bin of each histogram gets
    half a value before the proportions are taken (the Jeffreys prior): a bin a 300-row window left
    empty weighs what half a row of 300 would, 1/600 less the other bins' share of the smoothing.
    So an empty bin, or a rare category a small window happened to miss, costs what the sample's
    size makes it worth (a window of 300 rows missing a category the reference holds at 0.5% adds
    0.004, not the 0.019 a 1e-4 floor made of it): with six categories at 1% each, 45% of
    150-row windows drawn from the reference crossed 0.1 with the floor, 4% with the smoothing
    (tests/unit/test_drift_methods.py). Per bin, the smoothed index's expectation under no shift stays
    at or under the large-sample one ((1 - p) / n), where the floor doubled it for bins the window
    expects about one value in. A category the window has and the reference never had still weighs
    in full (the reference's half value over its size). Bins empty in both histograms are left out
    (no sample has them; smoothing them would add a little PSI from nothing).

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts per bin (counts, not proportions: the smoothing is half a value);
        they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.
    smoothing : float, default=0.5
        Values added to every bin of each histogram.

    Returns
    -------
    psi : float
        >= 0: 0 for identical histograms, larger the more they differ (>= 0.1 drifts, >= 0.25 badly).

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    kept = [(r, c) for r, c in zip(reference, current) if r + c > 0]
    ref = [float(r) for r, _ in kept]
    cur = [float(c) for _, c in kept]
    total_ref, total_cur = sum(ref), sum(cur)
    if total_ref <= 0 or total_cur <= 0:
        raise ValueError("a histogram with no values has no proportions")
    # ``smoothed`` of each, its totals summed once (the same sums, so the same proportions)
    below_p = float(total_ref) + smoothing * len(ref)
    below_q = float(total_cur) + smoothing * len(cur)
    p = [(c + smoothing) / below_p for c in ref]
    q = [(c + smoothing) / below_q for c in cur]
    log = math.log
    return float(sum([(qi - pi) * log(qi / pi) for pi, qi in zip(p, q)]))


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """PSI of ``current`` against ``reference`` on PSI's bins (``open_deciles``)."""
    ref, cur = open_deciles(reference, current)
    return psi(ref, cur), None
