"""Data drift from histograms: pure functions, no database, no UI.

Every statistic here compares two histograms over the same bins: the reference data's
(stored with the model version) and the current window's (folded from inference rows).
Numeric histograms carry two open-ended bins around the reference's edges for values below
its minimum or above its maximum; categorical ones carry an ``__unseen__`` bucket for
categories the reference never had, and, for a reference with more categories than it keeps,
its ``__other__`` bucket (the values beyond the kept ones, compared by their share). Working
on histograms instead of raw rows keeps a check's cost independent of the rows ingested.

Methods and their default thresholds (all configurable per model and feature):

==============  ===========================================  ====================
method          score                                        drifted when
==============  ===========================================  ====================
psi             population stability index, open deciles     >= 0.1 (0.25 crit)
ks              Kolmogorov-Smirnov p-value (statistic kept)   < 0.05
wasserstein     Wasserstein-1 distance / reference std        >= 0.1
chisquare       chi-square homogeneity p-value (2 x k table)  < 0.05
jensenshannon   Jensen-Shannon distance (natural log)         >= 0.1
==============  ===========================================  ====================
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from fuseboard.monitoring.shapes import FeatureProfile, NumericProfile, NumericWindow, WindowFeature
from fuseboard.status import Status

EPS = 1e-4  # floor for empty-bin proportions in PSI


@dataclass(frozen=True)
class Method:
    """A drift method and its default thresholds."""

    name: str
    numeric_only: bool
    lower_is_drift: bool  # p-values: small means drift
    threshold: float
    critical: float | None = None


METHODS: dict[str, Method] = {
    "psi": Method("psi", False, False, 0.1, 0.25),
    "ks": Method("ks", True, True, 0.05),
    "wasserstein": Method("wasserstein", True, False, 0.1),
    "chisquare": Method("chisquare", False, True, 0.05),
    "jensenshannon": Method("jensenshannon", False, False, 0.1),
}
DEFAULT_METHOD = "psi"
DEFAULT_DRIFT_SHARE = 0.5


def _props(counts: Sequence[float], floor: float = 0.0) -> list[float]:
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("a histogram with no values has no proportions")
    props = [c / total for c in counts]
    if floor:
        props = [max(p, floor) for p in props]
        norm = sum(props)
        props = [p / norm for p in props]
    return props


def psi(reference: Sequence[float], current: Sequence[float], eps: float = EPS) -> float:
    """Population stability index: sum((q - p) * ln(q / p)), empty bins floored at ``eps``.

    Parameters
    ----------
    reference : sequence of float, shape (n_bins,)
        The reference's counts (or proportions) per bin; they sum to more than 0.
    current : sequence of float, shape (n_bins,)
        The current window's counts on the same bins; they sum to more than 0.
    eps : float, default=1e-4
        Floor for a bin's proportion (an empty bin would make the index infinite).

    Returns
    -------
    psi : float
        0 for identical proportions, larger the more they differ (>= 0.1 drifts, >= 0.25 badly).

    Raises
    ------
    ValueError
        A histogram with no values.
    """
    p = [max(x, eps) for x in _props(reference)]
    q = [max(x, eps) for x in _props(current)]
    return float(sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q)))


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
    from scipy.stats import chi2

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
    return stat, float(chi2.sf(stat, len(pairs) - 1))


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


# -- per-feature verdicts -----------------------------------------------------------------

@dataclass
class FeatureDrift:
    """One feature's drift verdict (``feature_drift``)."""

    feature: str
    method: str
    score: float
    threshold: float
    drifted: bool
    severity: Status  # ok, warn or crit
    statistic: float | None = None  # KS and chi-square keep their statistic beside the p-value
    rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def aligned(reference: FeatureProfile, current: WindowFeature
            ) -> tuple[list[float], list[float], list[float] | None]:
    """Reference and current histograms over the same bins (and edges, for numbers).

    Numeric: ``[below, bins..., above]``; the outer bins have no width here (their
    mass sits at the reference's range ends, see ``tail_area``). Categorical: the
    reference's categories, then ``__unseen__``.

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
        return ref, list(cur), [edges[0], *edges, edges[-1]]
    categories = list(reference["value_counts"])
    ref = [float(reference["value_counts"][c]) for c in categories] + [0.0]
    counts = current["value_counts"]
    cur = [float(counts.get(c, 0)) for c in categories] + [float(counts.get("__unseen__", 0))]
    return ref, cur, None


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


def coarse(reference: FeatureProfile, current: WindowFeature) -> tuple[list[float], list[float]]:
    """The reference's decile bins for PSI (the usual ten bins), plus the two open ends.

    Parameters
    ----------
    reference : NumericProfile or CategoricalProfile
    current : NumericWindow or CategoricalWindow
        Of the same kind, folded on the reference's bins.

    Returns
    -------
    reference_counts, current_counts : list of float, shape (n_bins,)
        Numeric: ``[below, deciles..., above]`` (``n_bins = len(reference counts) + 2``, the
        reference's outer two 0); categorical: as ``aligned``.

    Raises
    ------
    ValueError
        A numeric window not folded on the reference's bins.
    """
    if reference["kind"] != "numeric":
        ref, cur, _ = aligned(reference, current)
        return ref, cur
    if len(current["counts"]) != len(reference["counts"]) + 2:
        raise ValueError("current histogram does not match the reference's bins")
    return [0.0, *reference["counts"], 0.0], list(current["counts"])


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
    """
    ref, cur = coarse(reference, current)
    if reference["kind"] != "numeric":
        return ref, cur
    inner = cur[1:-1]
    inner[0] += cur[0]
    inner[-1] += cur[-1]
    return ref[1:-1], inner


def feature_drift(name: str, reference: FeatureProfile, current: WindowFeature, method: str = DEFAULT_METHOD,
                  threshold: float | None = None, critical: float | None = None) -> FeatureDrift:
    """Score one feature with ``method`` and say whether it drifted (and how badly, for PSI).

    Parameters
    ----------
    name : str
        The feature, as the verdict names it.
    reference : NumericProfile or CategoricalProfile
    current : NumericWindow or CategoricalWindow
        Of the same kind, folded on the reference's bins.
    method : {"psi", "ks", "wasserstein", "chisquare", "jensenshannon"}, default="psi"
    threshold : float, optional
        Where drift begins (the method's default when None): a score at or above it drifts, or,
        for the p-values (ks, chisquare), below it.
    critical : float, optional
        Where drift is critical, for methods where a larger score is worse (PSI: 0.25 by default).

    Returns
    -------
    verdict : FeatureDrift
        ``severity`` ok, warn, or crit (a drifted score at or above ``critical``).

    Raises
    ------
    ValueError
        An unknown method, a numeric-only method on a categorical feature, or histograms that do
        not match.
    """
    spec = METHODS.get(method)
    if spec is None:
        raise ValueError(f"unknown drift method {method!r} (one of {', '.join(METHODS)})")
    if spec.numeric_only and reference["kind"] != "numeric":
        raise ValueError(f"{method} needs a numeric feature; {name!r} is categorical")
    limit = spec.threshold if threshold is None else threshold
    crit_limit = spec.critical if critical is None else critical
    rows = int(current.get("count", 0))
    statistic = None
    if method == "psi":
        ref, cur = open_deciles(reference, current)
        score = psi(ref, cur)
    elif method == "ks":
        ref, cur, _ = aligned(reference, current)
        statistic = ks_statistic(ref, cur)
        score = ks_pvalue(statistic, int(sum(ref)), int(sum(cur)))
    elif method == "wasserstein":
        ref, cur, edges = aligned(reference, current)
        std = reference.get("std") or 0.0
        distance = wasserstein(edges, ref, cur) + tail_area(reference, current)
        score = distance / std if std > 0 else (0.0 if distance == 0 else math.inf)
    elif method == "chisquare":
        ref, cur = coarse(reference, current)
        statistic, score = chisquare(ref, cur)
    else:
        ref, cur, _ = aligned(reference, current)
        score = jensenshannon(ref, cur)
    drifted = score < limit if spec.lower_is_drift else score >= limit
    severity = Status.OK
    if drifted:
        severity = Status.CRIT if (crit_limit is not None and not spec.lower_is_drift and score >= crit_limit) \
            else Status.WARN
    return FeatureDrift(name, method, float(score), float(limit), bool(drifted), severity, statistic, rows)


def dataset_drift(results: Sequence[FeatureDrift], share: float = DEFAULT_DRIFT_SHARE) -> bool:
    """True when the share of drifted features reaches ``share``.

    Parameters
    ----------
    results : sequence of FeatureDrift
        One verdict per feature checked.
    share : float, default=0.5
        In (0, 1].

    Returns
    -------
    drifted : bool
        False when no feature was checked.
    """
    if not results:
        return False
    return sum(r.drifted for r in results) / len(results) >= share
