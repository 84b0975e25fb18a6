"""Chi-square test of homogeneity on the 2 x k table of reference and window counts."""

from __future__ import annotations

import math
from typing import Sequence

from fuseboard.monitoring.drift.base import Method
from fuseboard.monitoring.drift.bins import open_deciles
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

METHOD = Method("chisquare", False, True, 0.05, 0.25, effect_name="Cramér's V")


def chisquare(reference: Sequence[float], current: Sequence[float]) -> tuple[float, float]:
    """Chi-square test that the two histograms come from one distribution: (statistic, p-value).

    The test of homogeneity of the 2 x k table of reference and current counts, as
    ``scipy.stats.chi2_contingency(table, correction=False)`` computes it: bins empty in both
    histograms are left out (they are not categories either sample has), so the degrees of
    freedom are the bins that hold a value, minus one. A category only the current window has
    (the ``__unseen__`` bin) counts with its real expectation, not a floored one.

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts per bin (counts, not proportions: the test weighs both samples'
        sizes); they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.

    Returns
    -------
    statistic : float
        >= 0; 0 when fewer than two bins hold a value.
    pvalue : float
        In [0, 1], with (bins holding a value - 1) degrees of freedom; small means the two
        histograms differ. 1 when fewer than two bins hold a value.

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    from scipy.special import chdtrc  # scipy.stats.chi2.sf's own function, without importing scipy.stats

    pairs = [(float(r), float(c)) for r, c in zip(reference, current) if r + c > 0]
    n_ref, n_cur = sum(r for r, _ in pairs), sum(c for _, c in pairs)
    if n_ref <= 0 or n_cur <= 0:
        raise ValueError("a histogram with no values")
    if len(pairs) < 2:
        return 0.0, 1.0
    total = n_ref + n_cur
    stat = 0.0
    for r, c in pairs:
        e_ref, e_cur = (r + c) * n_ref / total, (r + c) * n_cur / total
        stat += (r - e_ref) ** 2 / e_ref + (c - e_cur) ** 2 / e_cur
    return stat, float(chdtrc(len(pairs) - 1, stat))


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """(p-value, statistic) on the reference's deciles, open at both ends (numbers), or its categories.

    Open ends as for PSI: a few values just beyond the range the reference happened to cover count in
    its outer deciles, not in a bin of their own that the reference left empty (which alone made 15% of
    no-shift 2,000-row windows drift); how far beyond they are is what KS and Wasserstein measure.
    """
    ref, cur = open_deciles(reference, current)
    statistic, pvalue = chisquare(ref, cur)
    return pvalue, statistic


def cramers_v(reference: Sequence[float], current: Sequence[float]) -> float:
    """Cramér's V of the 2 x k table the two histograms would make if both samples had the same size.

    ``sqrt(sum((p - q) ** 2 / (2 * (p + q))))`` over the bins that hold a value, ``p`` and ``q`` the
    two histograms' proportions: the effect size of the chi-square test, which is
    ``sqrt(chi2 / n)`` for a 2 x k table of ``n`` values. Taken at equal sizes, it does not depend
    on how much larger the reference is than the window (the table's own V would shrink with the
    window's share of the values). 0 for identical proportions, 1 for histograms with no bin in
    common; 0.25 is what a rate moving from 30% to 55% gives, or a mean shifting by half a
    standard deviation (on deciles).

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts (or proportions) per bin; they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.

    Returns
    -------
    v : float
        In [0, 1].

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    n_ref, n_cur = float(sum(reference)), float(sum(current))
    if n_ref <= 0 or n_cur <= 0:
        raise ValueError("a histogram with no values")
    total = 0.0
    for r, c in zip(reference, current):
        p, q = r / n_ref, c / n_cur
        if p + q > 0:
            total += (p - q) ** 2 / (2 * (p + q))
    return math.sqrt(total)


def effect(reference: FeatureProfile, current: WindowFeature) -> float:
    """Cramér's V on the bins the test compares (``cramers_v``)."""
    ref, cur = open_deciles(reference, current)
    return cramers_v(ref, cur)
