"""The drift checks' verdicts: data drift over a model's features, and prediction drift.

Pure: merged window profiles, the reference and a ``Policy`` in, a ``CheckResult`` out.
"""

from __future__ import annotations

from fuseboard.monitoring import drift, windows
from fuseboard.monitoring.details import DriftDetails, PredictionDriftDetails
from fuseboard.monitoring.result import CheckResult, breach, span
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.shapes import ReferenceProfile, WindowColumns


def evaluate_drift(features: WindowColumns, reference: ReferenceProfile, criticality: str,
                   policy: Policy) -> CheckResult:
    rows = max((p["count"] + p["nulls"] for p in features.values()), default=0)
    if rows < policy.min_rows:
        return CheckResult("drift", "none", f"{rows} rows in the last {span(policy.drift_window)}; "
                           f"a verdict needs {policy.min_rows}", rows)
    results = []
    for name, current in features.items():
        ref = reference["features"].get(name)
        if ref is None or not current["count"]:
            continue
        method = policy.methods.get(name, policy.default_method)
        results.append(drift.feature_drift(name, ref, current, method, policy.thresholds.get(name)))
    results.sort(key=lambda r: (not r.drifted, -r.score if not drift.METHODS[r.method].lower_is_drift else r.score))
    drifted = [r for r in results if r.drifted]
    dataset = drift.dataset_drift(results, policy.drift_share)
    key = [r.feature for r in drifted if r.feature in policy.key_features]
    status = "ok"
    if drifted:
        level = breach(criticality)
        psi_crit = any(r.severity == "crit" for r in drifted)
        if dataset or key:
            status = level
        else:
            status = "crit" if level == "crit" and psi_crit else "warn"
    summary = (f"{len(drifted)} of {len(results)} features drifted" + (" (dataset drift)" if dataset else "")
               + (f"; key feature(s) {', '.join(key)}" if key else "")
               + (f": {', '.join(r.feature for r in drifted[:4])}" if drifted else ""))
    details: DriftDetails = {
        "dataset_drift": dataset, "drift_share": policy.drift_share, "key_features_drifted": key,
        "features": [{"feature": r.feature, "method": r.method, "score": r.score, "threshold": r.threshold,
                      "drifted": r.drifted, "severity": r.severity} for r in results]}
    return CheckResult("drift", status, summary, rows, details)


def evaluate_prediction_drift(predictions: WindowColumns, reference: ReferenceProfile, criticality: str,
                              policy: Policy) -> CheckResult:
    current = predictions.get("score") or predictions.get("prediction")
    ref = reference.get("scores") if "score" in predictions else reference.get("predictions")
    rows = current["count"] + current["nulls"] if current else 0
    if not current or not ref or rows < policy.min_rows:
        return CheckResult("prediction_drift", "none", f"{rows} predictions; a verdict needs {policy.min_rows}", rows)
    if ref["kind"] == "categorical":  # align the reference's label counts with the window's class counts
        ref = {**ref, "value_counts": {k: ref["value_counts"].get(k, 0) for k in current["value_counts"]
                                       if k != windows.UNSEEN}}
    scored = "score" if "score" in predictions else "prediction"
    result = drift.feature_drift(scored, ref, current, "psi")
    status = "ok" if not result.drifted else ("crit" if breach(criticality) == "crit" and result.severity == "crit"
                                              else "warn")
    details: PredictionDriftDetails = {"feature": scored, "method": "psi", "score": result.score,
                                       "threshold": result.threshold, "drifted": result.drifted}
    return CheckResult("prediction_drift", status, f"{result.feature} PSI {result.score:.3f}"
                       f" ({'drifted' if result.drifted else 'stable'})", rows, details)
