"""Two-sample Kolmogorov-Smirnov test on the reference's fine bins."""

from __future__ import annotations

from typing import Sequence

from fuseboard.monitoring.drift.base import Method, _props
from fuseboard.monitoring.drift.bins import aligned
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature

METHOD = Method("ks", True, True, 0.05, 0.2, effect_name="KS statistic")


def ks_statistic(reference: Sequence[float], current: Sequence[float]) -> float:
    """The largest gap between the two cumulative distributions, read at the bin edges.

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts (or proportions) per bin; they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.

    Returns
    -------
    statistic : float
        The Kolmogorov-Smirnov statistic, in [0, 1].

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    p, q = _props(reference), _props(current)
    gap = cum_p = cum_q = 0.0
    for pi, qi in zip(p, q):
        cum_p += pi
        cum_q += qi
        gap = max(gap, abs(cum_p - cum_q))
    return gap


def ks_pvalue(statistic: float, n_reference: int, n_current: int) -> float:
    """Two-sided p-value as scipy.stats.ks_2samp computes it for large samples.

    Parameters
    ----------
    statistic : float
        The KS statistic (``ks_statistic``), in [0, 1].
    n_reference, n_current : int
        The number of values behind each histogram; both > 0.

    Returns
    -------
    pvalue : float
        In [0, 1]; small means the two samples differ (< 0.05 drifts).
    """
    from scipy.stats import distributions

    en = n_reference * n_current / (n_reference + n_current)
    return float(min(1.0, max(0.0, distributions.kstwo.sf(statistic, round(en)))))


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """(p-value, statistic) of ``current`` against ``reference``."""
    ref, cur, _ = aligned(reference, current)
    statistic = ks_statistic(ref, cur)
    return ks_pvalue(statistic, int(sum(ref)), int(sum(cur))), statistic


def effect(reference: FeatureProfile, current: WindowFeature) -> float:
    """The KS statistic (the largest gap between the two distributions): 0.2 is what a mean shift of
    half a standard deviation gives."""
    ref, cur, _ = aligned(reference, current)
    return ks_statistic(ref, cur)
