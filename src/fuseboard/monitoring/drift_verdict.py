"""The drift checks' verdicts: data drift over a model's features, and prediction drift.

Pure: merged window profiles, the reference and a ``Policy`` in, a ``CheckResult`` out.

Severity grades twice. Each feature is ``warn`` when it drifts and ``crit`` when it drifts at its
method's critical magnitude (PSI 0.25; the others in ``drift``'s table). The check then escalates
with how many features drifted and which, by the model's tier (``escalate``):

==========================================  ================  ========
what drifted                                mission-critical  internal
==========================================  ================  ========
some features                               warn              warn
a feature at critical magnitude             crit              warn
a key feature                               crit              warn
a key feature at critical magnitude         crit              crit
``drift_share`` of the features (dataset)   crit              crit
==========================================  ================  ========

Where the version's permutation importance was measured (ops/importance.py), features are ordered
by it among equals, and a check whose drifted features carry less than ``importance_floor`` of it
(default 10%) is at most ``warn``, whatever the row above: drift the model does not lean on.

Prediction drift grades as one feature of the table would (crit at critical magnitude on a
mission-critical model, warn otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

from fuseboard.monitoring import drift, windows
from fuseboard.monitoring.details import DriftDetails, DriftFeature, PredictionDriftDetails
from fuseboard.monitoring.result import CheckResult, span
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.shapes import FeatureProfile, ReferenceProfile, WindowColumns
from fuseboard.status import Status


def escalate(drifted: Sequence[drift.FeatureDrift], dataset: bool, key_features: Sequence[str],
             criticality: str) -> Status:
    """The drift check's status from its drifted features (the table in the module's docstring).

    Parameters
    ----------
    drifted : sequence of FeatureDrift
        The features that drifted (``severity`` warn or crit).
    dataset : bool
        At least the model's ``drift_share`` of its features drifted.
    key_features : sequence of str
        The model's key features.
    criticality : {"mission-critical", "internal"}

    Returns
    -------
    status : Status
        ok (nothing drifted), warn or crit.
    """
    if not drifted:
        return Status.OK
    if dataset:
        return Status.CRIT
    key = [r for r in drifted if r.feature in key_features]
    if criticality == "mission-critical":
        badly = key or any(r.severity == Status.CRIT for r in drifted)
    else:
        badly = any(r.severity == Status.CRIT for r in key)
    return Status.CRIT if badly else Status.WARN


WORDS = {"psi": "PSI", "ks": "KS", "wasserstein": "Wasserstein", "chisquare": "chi-square",
         "jensenshannon": "Jensen-Shannon", "ztest": "Z-test"}


def _scored(name: str, r: drift.FeatureDrift) -> str:
    what = WORDS.get(r.method, r.method) + (" (auto)" if r.chosen_by else "")
    if r.is_test:
        return f"{name} {what} p {r.score:.2g}" + (f", effect {r.effect:.3f}" if r.effect is not None else "")
    return f"{name} {what} {r.score:.3f}"


def method_for(reference: FeatureProfile, default: str, own: str | None = None) -> str:
    """The method that checks a column: its own (a feature's in ``Policy.methods``), else the model's
    default method, else ``auto`` where the default cannot score it (ks, wasserstein: numbers only;
    ztest: at most two categories), so a default meant for most features breaks no check on the others."""
    if own is not None:
        return own
    spec = drift.METHODS.get(default)
    return default if spec is None or spec.can_score(reference) else drift.NEW_MODEL_METHOD


def _detail(r: drift.FeatureDrift, shares: dict[str, float]) -> DriftFeature:
    out: DriftFeature = {"feature": r.feature, "method": r.method, "score": r.score, "threshold": r.threshold,
                         "drifted": r.drifted, "severity": r.severity}
    if r.feature in shares:
        out["importance"] = shares[r.feature]
    if r.chosen_by:
        out["chosen_by"] = r.chosen_by
    if r.effect is not None:
        out["effect"] = r.effect
    if r.critical is not None:
        out["critical"] = r.critical
    if r.adjusted is not None:
        out["adjusted"] = r.adjusted
    return out


def evaluate_drift(features: WindowColumns, reference: ReferenceProfile, criticality: str,
                   policy: Policy) -> CheckResult:
    """The data drift check: every feature of the window against the reference, graded.

    Parameters
    ----------
    features : dict of str to NumericWindow or CategoricalWindow
        The window's features, merged over the drift window, on the reference's bins.
    reference : ReferenceProfile
    criticality : {"mission-critical", "internal"}
    policy : Policy
        Its methods (per feature, else ``default_method``), thresholds, key features and drift share.

    Returns
    -------
    result : CheckResult
        ``none`` below ``policy.min_rows`` rows; otherwise ok, warn or crit (``escalate``), with
        ``DriftDetails``: every feature scored, drifted ones first (worst first).
    """
    rows = max((p["count"] + p["nulls"] for p in features.values()), default=0)
    if rows < policy.min_rows:
        return CheckResult("drift", "none", f"{rows} rows in the last {span(policy.drift_window)}; "
                           f"a verdict needs {policy.min_rows}", rows)
    results = []
    for name, current in features.items():
        ref = reference["features"].get(name)
        if ref is None or not current["count"]:
            continue
        method = method_for(ref, policy.default_method, policy.methods.get(name))
        results.append(drift.feature_drift(name, ref, current, method, policy.thresholds.get(name)))
    results = drift.correct_tests(results)
    shares = reference.get("importance", {}).get("share", {})
    results.sort(key=lambda r: (not r.drifted, r.severity != Status.CRIT, -shares.get(r.feature, 0.0),
                                r.score if r.is_test else -r.score))  # within a verdict, what the model leans on first
    drifted = [r for r in results if r.drifted]
    dataset = drift.dataset_drift(results, policy.drift_share)
    key = [r.feature for r in drifted if r.feature in policy.key_features]
    status = escalate(drifted, dataset, policy.key_features, criticality)
    carried = sum(shares.get(r.feature, 0.0) for r in drifted)
    capped = bool(shares) and status == Status.CRIT and carried < policy.importance_floor
    if capped:  # drift the model does not lean on: worth a look, not a page
        status = Status.WARN
    badly = sum(r.severity == Status.CRIT for r in drifted)
    summary = (f"{len(drifted)} of {len(results)} features drifted" + (" (dataset drift)" if dataset else "")
               + (f"; key feature(s) {', '.join(key)}" if key else "")
               + (f"; {badly} badly" if badly else "")
               + (f": {', '.join(r.feature for r in drifted[:4])}" if drifted else "")
               + (f" ({carried:.0%} of the model's importance)" if drifted and shares else "")
               + (f"; at most warn: under {policy.importance_floor:.0%} of the importance" if capped else ""))
    details: DriftDetails = {"dataset_drift": dataset, "drift_share": policy.drift_share,
                             "key_features_drifted": key, "features": [_detail(r, shares) for r in results]}
    if shares:
        details["drifted_importance"] = carried
        details["importance_floor"] = policy.importance_floor
    if capped:
        details["capped_by_importance"] = True
    return CheckResult("drift", status, summary, rows, details)


def evaluate_prediction_drift(predictions: WindowColumns, reference: ReferenceProfile, criticality: str,
                              policy: Policy) -> CheckResult:
    """The prediction drift check: the score (or predicted class) distribution against the reference's.

    Scored with the model's default method (``auto`` picks per window, as for a feature) and graded
    as one feature would be (``escalate``): crit when it drifts at critical magnitude on a
    mission-critical model, warn otherwise.

    Parameters
    ----------
    predictions : dict of str to NumericWindow or CategoricalWindow
        ``score`` (binary classifiers) and/or ``prediction``, merged over the drift window.
    reference : ReferenceProfile
    criticality : {"mission-critical", "internal"}
    policy : Policy

    Returns
    -------
    result : CheckResult
        ``none`` below ``policy.min_rows`` predictions; ok, warn or crit otherwise, with
        ``PredictionDriftDetails``.
    """
    current = predictions.get("score") or predictions.get("prediction")
    ref = reference.get("scores") if "score" in predictions else reference.get("predictions")
    rows = current["count"] + current["nulls"] if current else 0
    if not current or not ref or rows < policy.min_rows:
        return CheckResult("prediction_drift", "none", f"{rows} predictions; a verdict needs {policy.min_rows}", rows)
    if ref["kind"] == "categorical":  # align the reference's label counts with the window's class counts
        ref = {**ref, "value_counts": {k: ref["value_counts"].get(k, 0) for k in current["value_counts"]
                                       if k != windows.UNSEEN}}
    scored = "score" if "score" in predictions else "prediction"
    result = drift.feature_drift(scored, ref, current, method_for(ref, policy.default_method))
    status = escalate([result] if result.drifted else [], False, (), criticality)
    details: PredictionDriftDetails = {"feature": scored, "method": result.method, "score": result.score,
                                       "threshold": result.threshold, "drifted": result.drifted,
                                       "severity": result.severity}
    if result.chosen_by:
        details["chosen_by"] = result.chosen_by
    if result.effect is not None:
        details["effect"] = result.effect
    return CheckResult("prediction_drift", status, f"{_scored(result.feature, result)}"
                       f" ({'drifted' if result.drifted else 'stable'})", rows, details)
