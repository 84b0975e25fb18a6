"""The checks' verdicts: data drift, prediction drift, performance, data quality, staleness and health.

Pure: profiles, settings (a ``Policy``) and a probe's answer in, a ``CheckResult`` out; no
database, no HTTP. ``merged`` and ``merged_performance`` combine the stored window profiles a
check reads (merging is exact and cheap). checks.py gathers the inputs and runs these.

Severity follows the model's criticality: a breach on a mission-critical model is ``crit``, on an
internal model ``warn``; PSI keeps its two levels (warn from 0.1, crit from 0.25) for
mission-critical models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from fuseboard.clock import utcnow
from fuseboard.monitoring import drift, performance, windows
from fuseboard.monitoring.details import (CheckDetails, DriftDetails, HealthDetails, MetricCheckDetails, NoDetails,
                                          PerformanceDetails, PredictionDriftDetails, ProbeSample, QualityDetails,
                                          QualityFinding)
from fuseboard.monitoring.probe import ProbeResult
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.shapes import (NoLabels, PerformanceProfile, ReferenceProfile, ValidationMetrics,
                                         WindowColumns, WindowFeature)
from fuseboard.status import Status

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.store.models import WindowProfile


@dataclass
class CheckResult:
    check: str
    status: str  # ok, warn, crit, none (no data yet), error (the check itself failed): a ``Status`` word
    summary: str
    rows: int = 0
    details: CheckDetails = field(default_factory=NoDetails)  # the check kind's (details.py)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def breach(criticality: str) -> Status:
    """The status a breached check gets: crit on a mission-critical model, warn on the others."""
    return Status.CRIT if criticality == "mission-critical" else Status.WARN


def worst(statuses: Iterable[str]) -> Status:
    """The deployment's status: its worst check; ``none`` only when no check has a verdict."""
    return Status.worst(statuses)


def evaluate_drift(features: WindowColumns, reference: ReferenceProfile, criticality: str,
                   policy: Policy) -> CheckResult:
    rows = max((p["count"] + p["nulls"] for p in features.values()), default=0)
    if rows < policy.min_rows:
        return CheckResult("drift", "none", f"{rows} rows in the last {_span(policy.drift_window)}; "
                           f"a verdict needs {policy.min_rows}", rows)
    results = []
    for name, current in features.items():
        ref = reference["features"].get(name)
        if ref is None or not current["count"]:
            continue
        method = policy.methods.get(name, drift.DEFAULT_METHOD)
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


def evaluate_performance(perf: PerformanceProfile | NoLabels, baseline: ValidationMetrics, criticality: str,
                         policy: Policy) -> CheckResult:
    labelled = perf.get("labelled", 0) if perf else 0
    if labelled < policy.min_labelled:
        return CheckResult("performance", "none", f"{labelled} labelled rows in the last "
                           f"{_span(policy.performance_window)}; a verdict needs {policy.min_labelled}", labelled)
    current = performance.metrics(perf)
    checks = performance.degradation(current, baseline, labelled, policy.tolerances, policy.min_labelled)
    bad = [c for c in checks if c.degraded]
    status = breach(criticality) if bad else "ok"
    parts = [f"{c.metric} {c.current:.3f} vs {c.baseline:.3f}" for c in (bad or checks)]
    details: PerformanceDetails = {"metrics": current, "checks": [MetricCheckDetails(
        metric=c.metric, baseline=c.baseline, current=c.current, tolerance=c.tolerance, degraded=c.degraded,
        rows=c.rows) for c in checks]}
    return CheckResult("performance", status, ("degraded: " if bad else "") + ("; ".join(parts) or "no baseline"),
                       labelled, details)


def evaluate_quality(features: WindowColumns, reference: ReferenceProfile, criticality: str,
                     policy: Policy) -> CheckResult:
    findings: list[QualityFinding] = []
    rows = 0
    for name, cur in features.items():
        total = cur["count"] + cur["nulls"]
        rows = max(rows, total)
        ref = reference["features"].get(name) or {}
        if not total:
            continue
        ref_total = (ref.get("count") or 0) + (ref.get("nulls") or 0)
        ref_rate = ref.get("nulls", 0) / ref_total if ref_total else 0.0
        rate = cur["nulls"] / total
        if rate > ref_rate + policy.null_rate_increase:
            findings.append({"feature": name, "finding": "nulls", "rate": rate, "reference_rate": ref_rate})
        if cur["kind"] == "categorical" and cur["count"]:
            share = cur["value_counts"].get(windows.UNSEEN, 0) / cur["count"]
            if share > policy.unseen_share:
                findings.append({"feature": name, "finding": "unseen", "rate": share,
                                 "values": list(cur.get("unseen", {}))[:5]})
        if cur["kind"] == "numeric" and cur["count"] and cur.get("counts"):
            share = (cur["counts"][0] + cur["counts"][-1]) / cur["count"]
            if share > policy.unseen_share:
                findings.append({"feature": name, "finding": "out_of_range", "rate": share})
    if rows < policy.min_rows:
        return CheckResult("quality", "none", f"{rows} rows; a verdict needs {policy.min_rows}", rows)
    status = "warn" if findings else "ok"
    summary = "; ".join(f"{f['feature']} {f['finding'].replace('_', ' ')} {f['rate']:.1%}" for f in findings[:4])
    details: QualityDetails = {"findings": findings}
    return CheckResult("quality", status, summary or "no nulls, unseen categories or out-of-range values beyond "
                       "the thresholds", rows, details)


def evaluate_staleness(retrain_by: date | None, today: date) -> CheckResult:
    if retrain_by is None:
        return CheckResult("staleness", "none", "no retrain-by date set")
    if retrain_by < today:
        return CheckResult("staleness", "warn", f"past its retrain-by date {retrain_by.isoformat()} "
                           f"({(today - retrain_by).days} days ago)")
    return CheckResult("staleness", "ok", f"retrain by {retrain_by.isoformat()} (in {(retrain_by - today).days} days)")

def evaluate_health(result: ProbeResult | None, expected_version: int, criticality: str,
                    previous: HealthDetails | NoDetails | None = None, policy: Policy | None = None,
                    now: datetime | None = None, converging_until: datetime | None = None) -> CheckResult:
    """Up, down or serving the wrong version, with uptime and latency over the recent probes.

    A single failed probe is not an outage: the alert waits for ``policy.failures_to_alert``
    consecutive failures. ``previous`` is the last health result's details (the probe history).
    Until ``converging_until`` (a rollout's convergence deadline) another version is the
    endpoint catching up, not a mismatch.
    """
    policy = policy or Policy()
    if result is None:
        return CheckResult("health", "none", "no endpoint configured")
    before: HealthDetails | NoDetails = previous or NoDetails()
    stamp = (now or utcnow()).isoformat(timespec="seconds")
    sample: ProbeSample = [stamp, int(result.up), result.latency_ms]
    samples = [*before.get("samples", []), sample][-policy.probe_history:]
    failures = 0 if result.up else int(before.get("consecutive_failures", 0)) + 1
    latencies = sorted(x[2] for x in samples if x[1] and x[2] is not None)
    details: HealthDetails = {
        "up": result.up, "status_code": result.status_code, "latency_ms": result.latency_ms,
        "version": result.version, "error": result.error, "samples": samples, "consecutive_failures": failures,
        "uptime": sum(x[1] for x in samples) / len(samples),
        "p50_ms": _quantile(latencies, 0.5), "p95_ms": _quantile(latencies, 0.95)}
    stats_text = f"uptime {details['uptime']:.0%} over {len(samples)} probes"
    if not result.up:
        what = result.error or f"HTTP {result.status_code}"
        if failures < policy.failures_to_alert:
            return CheckResult("health", "ok", f"probe failed ({what}); {failures} of {policy.failures_to_alert} "
                               f"failures before an outage alert; {stats_text}", details=details)
        return CheckResult("health", breach(criticality), f"down for {failures} probes: {what}; {stats_text}",
                           details=details)
    if result.version is not None and result.version.lstrip("v") != str(expected_version):
        if converging_until is not None and (now or utcnow()) < converging_until:
            left = int((converging_until - (now or utcnow())).total_seconds())
            return CheckResult("health", "ok", f"converging: endpoint still serves version {result.version}, "
                               f"expecting v{expected_version} within {left}s", details=details)
        return CheckResult("health", breach(criticality), f"version mismatch: endpoint serves version "
                           f"{result.version}, fuseboard records v{expected_version}", details=details)
    return CheckResult("health", "ok", f"up, {result.latency_ms:.0f} ms (p95 {details['p95_ms']:.0f} ms); "
                       f"{stats_text}", details=details)


def _quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# -- the inputs: stored windows merged -------------------------------------------------------

def merged(rows: list[WindowProfile], attr: Literal["features", "predictions"]) -> WindowColumns:
    """One profile per feature (or prediction) over all the windows ``rows``."""
    by_name: dict[str, list[WindowFeature]] = {}
    for row in rows:
        for name, profile in getattr(row, attr).items():
            by_name.setdefault(name, []).append(profile)
    return {name: windows.merge_all(profiles) for name, profiles in by_name.items()}


def merged_performance(rows: list[WindowProfile]) -> PerformanceProfile | NoLabels:
    """One performance profile over all the windows ``rows`` (their labelled rows); ``{}`` without any."""
    out: PerformanceProfile | NoLabels = {}
    for row in rows:
        if row.performance:
            out = performance.merge(out, row.performance) if out else row.performance
    return out


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"

