"""Per-feature drift verdicts (any registered method), the multiple-testing correction across a
window's tests, and dataset drift."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from fuseboard.monitoring.drift.registry import EFFECTS, METHODS, SCORERS
from fuseboard.monitoring.shapes import FeatureProfile, WindowFeature
from fuseboard.status import Status

DEFAULT_METHOD = "psi"  # a model whose settings name no default method (registered before ``auto``)
NEW_MODEL_METHOD = "auto"  # written into a new model's settings when it is first registered
DEFAULT_DRIFT_SHARE = 0.5


def new_model_settings() -> dict[str, str]:
    """The monitoring settings a model gets when it is first registered: ``auto`` as its default method
    (models registered before keep theirs, psi unless set)."""
    return {"default_method": NEW_MODEL_METHOD}


@dataclass
class FeatureDrift:
    """One feature's drift verdict (``feature_drift``)."""

    feature: str
    method: str  # the method that scored it (never "auto": the one auto chose)
    score: float  # the method's score: a distance, or a test's p-value
    threshold: float
    drifted: bool
    severity: Status  # ok, warn or crit
    statistic: float | None = None  # KS, chi-square and the Z-test keep their statistic beside the p-value
    rows: int = 0
    chosen_by: str | None = None  # "auto" when the method was chosen for this window, None when set
    effect: float | None = None  # the magnitude ``critical`` is compared with (a distance: the score)
    critical: float | None = None  # where drift is critical (None: never, only warn)
    adjusted: float | None = None  # tests: the p-value after the window's multiple-testing correction

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_test(self) -> bool:
        """Scored by a test (a p-value: small means drift) rather than a distance."""
        return METHODS[self.method].lower_is_drift


def _grade(drifted: bool, effect: float | None, critical: float | None) -> Status:
    if not drifted:
        return Status.OK
    return Status.CRIT if critical is not None and effect is not None and effect >= critical else Status.WARN


def feature_drift(name: str, reference: FeatureProfile, current: WindowFeature, method: str = DEFAULT_METHOD,
                  threshold: float | None = None, critical: float | None = None) -> FeatureDrift:
    """Score one feature with ``method`` and say whether it drifted, and how badly.

    Parameters
    ----------
    name : str
        The feature, as the verdict names it.
    reference : NumericProfile or CategoricalProfile
    current : NumericWindow or CategoricalWindow
        Of the same kind, folded on the reference's bins.
    method : {"psi", "ks", "wasserstein", "chisquare", "jensenshannon", "ztest", "auto"}, default="psi"
        ``auto`` picks one of the others for this feature and window (``methods.auto``); the verdict
        names the one it picked.
    threshold : float, optional
        Where drift begins (the method's default when None): a score at or above it drifts, or,
        for the tests (ks, chisquare, ztest), a p-value below it. Under ``auto``, it applies to the
        method chosen (as Evidently's per-column threshold does): pin the method to fix its meaning.
    critical : float, optional
        Where drift is critical (the method's default when None): a distance's score, or a test's
        effect size (KS statistic, Cramér's V), at or above it.

    Returns
    -------
    verdict : FeatureDrift
        ``severity`` ok, warn, or crit (drifted, and the score or effect at or above ``critical``).

    Raises
    ------
    ValueError
        An unknown method, a numeric-only method on a categorical feature, ztest on a feature with
        more than two categories, or histograms that do not match.
    """
    spec = METHODS.get(method)
    if spec is None:
        raise ValueError(f"unknown drift method {method!r} (one of {', '.join(METHODS)})")
    chosen_by = None
    if spec.choose is not None:
        method, chosen_by = spec.choose(reference, current, threshold), spec.name
        spec = METHODS[method]
    if spec.numeric_only and reference["kind"] != "numeric":
        raise ValueError(f"{method} needs a numeric feature; {name!r} is categorical")
    limit = spec.threshold if threshold is None else threshold
    crit_limit = spec.critical if critical is None else critical
    rows = int(current.get("count", 0))
    score, statistic = SCORERS[method](reference, current)
    if spec.lower_is_drift:
        drifted = score < limit
        effect = EFFECTS[method](reference, current) if method in EFFECTS else None
    else:
        drifted, effect = score >= limit, score
    return FeatureDrift(name, method, float(score), float(limit), bool(drifted), _grade(drifted, effect, crit_limit),
                        statistic, rows, chosen_by, None if effect is None else float(effect),
                        None if crit_limit is None else float(crit_limit))


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, as ``scipy.stats.false_discovery_control`` computes them.

    A p-value's adjusted value is the smallest ``m / j * p_(j)`` over the ``j``-th smallest p-values
    at or above it (capped at 1): comparing it with ``alpha`` keeps the expected share of false
    discoveries among the tests that fire at ``alpha``, and, when nothing changed, the chance that
    any of the ``m`` tests fires at ``alpha`` (one test at 0.05 on each of 20 stable features fires
    somewhere in 64% of windows; corrected, in 5%).

    Parameters
    ----------
    pvalues : sequence of float, shape (m,)
        Each in [0, 1].

    Returns
    -------
    adjusted : list of float, shape (m,)
        In the order given; each >= its p-value, at most 1.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


def correct_tests(results: Sequence[FeatureDrift]) -> list[FeatureDrift]:
    """The verdicts with the window's tests corrected together (Benjamini-Hochberg, ``benjamini_hochberg``).

    A drift check asks one question of many features at once. Each test's p-value is adjusted over
    every test of the window (distances are left as they are), and a test drifts when its adjusted
    p-value is below its threshold; its severity is graded again (its effect is unchanged).

    Parameters
    ----------
    results : sequence of FeatureDrift
        One verdict per feature checked, as ``feature_drift`` gave them.

    Returns
    -------
    results : list of FeatureDrift
        In the order given; the tests with ``adjusted`` set, ``drifted`` and ``severity`` by it.
    """
    tests = [i for i, r in enumerate(results) if r.is_test]
    adjusted = benjamini_hochberg([results[i].score for i in tests])
    out = list(results)
    for i, q in zip(tests, adjusted):
        r = results[i]
        drifted = q < r.threshold
        out[i] = dataclasses.replace(r, adjusted=q, drifted=drifted, severity=_grade(drifted, r.effect, r.critical))
    return out


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
