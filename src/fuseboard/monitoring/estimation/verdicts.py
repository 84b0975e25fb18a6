"""The checks that need no labels: ``estimated_performance`` (CBPE, DLE) and ``multivariate_drift`` (PCA).

Pure, like evaluate.py: merged window profiles, the version's reference profile and settings in, a
``CheckResult`` out.

* ``estimated_performance`` grades each tolerated metric's estimate against the validation baseline
  with the tolerances realized performance uses (tolerance.py): from ``policy.min_labelled`` rows the
  estimate itself, below that its sampling interval (sampling.py), and no verdict under
  ``intervals.MIN_ROWS`` rows. The labels that did arrive for the same window are measured beside it
  (``realized``), and the difference is the estimation error.
* ``multivariate_drift`` is ``warn`` when the window's mean reconstruction error leaves the reference's
  range (pca.py): the features moved together in a way no single feature shows. Whether that hurts the
  model is the triage's question (monitoring/triage.py).
"""

from __future__ import annotations

import math
from typing import cast

from fuseboard.monitoring import intervals, performance, tolerance
from fuseboard.monitoring.details import EstimatedDetails, MetricCheckDetails, MultivariateDetails
from fuseboard.monitoring.estimation import cbpe, pca
from fuseboard.monitoring.intervals import Interval
from fuseboard.monitoring.result import CheckResult
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.shapes import (NoLabels, PerformanceProfile, ReferenceProfile, ValidationMetrics,
                                         WindowColumns)
from fuseboard.status import Status

__all__ = ["REFIT_HINT", "estimated_rows", "evaluate_estimated", "evaluate_multivariate"]

REFIT_HINT = "fuseboard models refit MODEL VERSION --reference FILE"
_Z = 1.959963984540054
REGRESSION_METRICS = ("mae", "rmse")  # what DLE estimates


def estimated_rows(estimated: PerformanceProfile | NoLabels) -> int:
    """The rows an estimated profile stands for (CBPE counts in ``cbpe.SCALE`` units)."""
    if not estimated:
        return 0
    if estimated["task"] == "classification":
        return int(estimated["labelled"] // cbpe.SCALE)
    return int(estimated["labelled"])


def _number(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"


def evaluate_estimated(estimated: PerformanceProfile | NoLabels, realized: PerformanceProfile | NoLabels,
                       reference: ReferenceProfile, baseline: ValidationMetrics, criticality: str,
                       policy: Policy) -> CheckResult:
    """Performance estimated without labels, graded against the baseline.

    Parameters
    ----------
    estimated : PerformanceProfile or {}
        The window's merged estimate (``cbpe.fold_windows``, ``dle.fold_windows``).
    realized : PerformanceProfile or {}
        The window's labelled rows, merged (what the labels that arrived say).
    reference : ReferenceProfile
        Its ``estimation`` says how to read ``estimated`` and holds the sampling spreads.
    baseline : ValidationMetrics
    criticality : {"mission-critical", "internal"}
    policy : Policy
    """
    name = "estimated_performance"
    fitted = reference.get("estimation", {})
    model = fitted.get("cbpe") or fitted.get("dle")
    if model is None:
        return CheckResult(name, "none", f"no estimator for this version (registered before they were fitted, or "
                           f"without labelled rows): {REFIT_HINT}")
    rows = estimated_rows(estimated)
    if rows < intervals.MIN_ROWS:
        return CheckResult(name, "none", f"{rows} rows with scores to estimate from in the last window; an estimate "
                           f"needs {intervals.MIN_ROWS}", rows)
    method = "cbpe" if "cbpe" in fitted else "dle"
    found = performance.metrics(estimated)
    if method == "dle":
        found = {k: v for k, v in found.items() if k in REGRESSION_METRICS}
    sigma = model.get("sampling", {})
    checks = []
    for metric, tol in tolerance.resolve(policy.tolerances, criticality).items():
        base = baseline.get(metric)
        if metric not in found or not isinstance(base, (int, float)) or isinstance(base, bool):
            continue
        value = found[metric]
        spread = sigma.get(metric)
        interval = Interval(value - _Z * spread / math.sqrt(rows), value + _Z * spread / math.sqrt(rows), "sampling") \
            if spread is not None else None
        if rows >= policy.min_labelled:
            grade = tol.grade(float(base), value)
        else:
            grade = tol.grade_interval(float(base), interval) if interval is not None else "none"
        checks.append(tolerance.MetricCheck(metric, float(base), value, tol.text(), tol.kind, tol.warn, tol.crit,
                                            grade, rows, interval))
    labelled = realized.get("labelled", 0) if realized else 0
    measured = performance.metrics(realized) if labelled else {}
    error = {k: found[k] - measured[k] for k in found if k in measured}
    details: EstimatedDetails = {"method": method, "metrics": found,  # type: ignore[typeddict-item]
                                 "checks": [cast(MetricCheckDetails, c.as_dict()) for c in checks],
                                 "labelled": labelled, "realized": measured, "error": error}
    said = "; ".join(_phrase(c, measured) for c in checks) or "no baseline to compare with"
    bad = [c for c in checks if c.degraded]
    if bad:
        status = Status.worst(c.grade for c in bad)
        summary = "estimated degraded: " + "; ".join(_phrase(c, measured) for c in bad)
    elif any(c.grade == "none" for c in checks):
        status, summary = Status.NONE, f"{rows} rows, too few to tell: {said}"
    else:
        status, summary = Status.OK, f"estimated {said}"
    return CheckResult(name, status, f"{summary} ({method.upper()}, {rows} rows)", rows, details)


def _phrase(c: tolerance.MetricCheck, measured: dict[str, float]) -> str:
    """``roc_auc 0.842 +/-0.031 vs 0.912: warn (warn -0.05, crit -0.10); labels say 0.850``."""
    text = f"{c.metric} {_number(c.current)}"
    if c.interval is not None and c.interval.high is not None:
        text += f" ±{_number((c.interval.high - c.interval.low) / 2)}"
    text += f" vs {_number(c.baseline)}"
    if c.degraded or c.grade == "none":
        text += f": {'undecided' if c.grade == 'none' else c.grade} ({c.tolerance})"
    if c.metric in measured:
        text += f", labels say {_number(measured[c.metric])}"
    return text


def evaluate_multivariate(predictions: WindowColumns, reference: ReferenceProfile, criticality: str,
                          policy: Policy) -> CheckResult:
    """The window's mean PCA reconstruction error against the reference's range (``pca.bounds``)."""
    name = "multivariate_drift"
    model = reference.get("estimation", {}).get("pca")
    if model is None:
        return CheckResult(name, "none", f"no PCA for this version (registered before it was fitted, or under two "
                           f"features): {REFIT_HINT}")
    column = predictions.get("reconstruction")
    rows = column["count"] if column else 0
    if rows < policy.min_rows:
        return CheckResult(name, "none", f"{rows} rows in the last window; a verdict needs {policy.min_rows}", rows)
    mean = float(column["mean"])  # type: ignore[index]
    low, high = pca.bounds(model, rows)
    drifted = not low <= mean <= high
    details: MultivariateDetails = {"mean_error": mean, "low": low, "high": high, "reference_mean": model["mean"],
                                    "drifted": drifted, "components": len(model["components"]),
                                    "variance_share": model["variance_share"]}
    where = "above" if mean > high else "below"
    summary = (f"reconstruction error {mean:.3f} {where} the reference's {low:.3f}-{high:.3f}: the features moved "
               f"together as they did not before" if drifted else
               f"reconstruction error {mean:.3f} within the reference's {low:.3f}-{high:.3f}")
    return CheckResult(name, Status.WARN if drifted else Status.OK, f"{summary} ({rows} rows)", rows, details)
