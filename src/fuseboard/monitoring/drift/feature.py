"""Per-feature drift verdicts (any registered method) and dataset drift."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from fuseboard.monitoring.drift.registry import METHODS, SCORERS
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature
from fuseboard.status import Status

DEFAULT_METHOD = "psi"
DEFAULT_DRIFT_SHARE = 0.5


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
    score, statistic = SCORERS[method](reference, current)
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
