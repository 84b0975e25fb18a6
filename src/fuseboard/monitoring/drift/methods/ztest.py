"""Two-sample Z-test of a binary column: did the share of its first category move?"""

from __future__ import annotations

import math

from fuseboard.monitoring.drift.base import Method
from fuseboard.monitoring.drift.bins import aligned
from fuseboard.monitoring.drift.methods.chisquare import cramers_v
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature


def binary(reference: FeatureProfile) -> bool:
    """A categorical feature with at most two categories in the reference: what ztest scores."""
    return reference["kind"] == "categorical" and sum(1 for n in reference["value_counts"].values() if n > 0) <= 2


METHOD = Method("ztest", False, True, 0.05, 0.25, effect_name="Cramér's V", accepts=binary)


def ztest(successes_reference: float, n_reference: float, successes_current: float,
          n_current: float) -> tuple[float, float]:
    """Two-proportion Z-test with the pooled proportion, two-sided: (z, p-value).

    ``z = (p_cur - p_ref) / sqrt(p (1 - p) (1 / n_ref + 1 / n_cur))`` with ``p`` the pooled
    proportion; ``z ** 2`` is the chi-square statistic of the 2 x 2 table (without Yates'
    correction), and the p-value is that test's.

    Parameters
    ----------
    successes_reference, successes_current : float
        Values of the category whose share is compared, in each sample; 0 <= successes <= n.
    n_reference, n_current : float
        Values in each sample; both > 0.

    Returns
    -------
    z : float
        Positive when the share grew; 0 when the pooled share is 0 or 1 (nothing to compare).
    pvalue : float
        In [0, 1]: ``2 * (1 - Phi(|z|))``; small means the shares differ.

    Raises
    ------
    ValueError
        A sample with no values, or more successes than values.
    """
    from scipy.special import ndtr  # scipy.stats.norm.sf's own function, without importing scipy.stats

    if n_reference <= 0 or n_current <= 0:
        raise ValueError("a histogram with no values")
    if not (0 <= successes_reference <= n_reference and 0 <= successes_current <= n_current):
        raise ValueError("a share outside [0, 1]")
    pooled = (successes_reference + successes_current) / (n_reference + n_current)
    spread = pooled * (1 - pooled) * (1 / n_reference + 1 / n_current)
    if spread <= 0:
        return 0.0, 1.0
    z = (successes_current / n_current - successes_reference / n_reference) / math.sqrt(spread)
    return z, float(min(1.0, 2 * ndtr(-abs(z))))


def _binary(reference: FeatureProfile, current: WindowFeature) -> tuple[list[float], list[float]]:
    """The reference's first category against every other value (``__unseen__`` included)."""
    if reference["kind"] != "categorical":
        raise ValueError("ztest needs a categorical feature with at most 2 categories; this one is numeric")
    categories = [c for c, n in reference["value_counts"].items() if n > 0]
    if len(categories) > 2:
        raise ValueError(f"ztest needs a categorical feature with at most 2 categories; this one has "
                         f"{len(categories)} (use chisquare or jensenshannon)")
    ref, cur, _ = aligned(reference, current)
    return [ref[0], sum(ref) - ref[0]], [cur[0], sum(cur) - cur[0]]


def score(reference: FeatureProfile, current: WindowFeature) -> tuple[float, float | None]:
    """(p-value, z) of the share of the reference's first (most frequent) category.

    A value the reference never had counts as "not the first category": with two categories and
    an unseen third, the test sees only what happened to the first one's share (``auto`` takes
    chi-square for a window with unseen values).
    """
    ref, cur = _binary(reference, current)
    z, pvalue = ztest(ref[0], sum(ref), cur[0], sum(cur))
    return pvalue, z


def effect(reference: FeatureProfile, current: WindowFeature) -> float:
    """Cramér's V of the 2 x 2 table, as if both samples had the same size (``cramers_v``)."""
    ref, cur = _binary(reference, current)
    return cramers_v(ref, cur)
