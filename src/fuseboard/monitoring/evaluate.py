"""The checks' verdicts: performance, data quality, staleness and health (drift: drift_verdict.py).

Pure: profiles, settings (a ``Policy``) and a probe's answer in, a ``CheckResult`` out; no
database, no HTTP. ``merged`` and ``merged_performance`` combine the stored window profiles a
check reads (merging is exact and cheap). checks.py gathers the inputs and runs these.

Severity follows the model's criticality: a breach on a mission-critical model is ``crit``, on an
internal model ``warn``; PSI keeps its two levels (warn from 0.1, crit from 0.25) for
mission-critical models. Performance is graded instead: each metric has a warn and a crit level
whose defaults depend on the tier (tolerance.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, cast

from fuseboard.clock import utcnow
from fuseboard.monitoring import intervals, performance, tolerance, windows
from fuseboard.monitoring.details import (HealthDetails, MetricCheckDetails, NoDetails, PerformanceDetails,
                                          ProbeSample, QualityDetails, QualityFinding)
from fuseboard.monitoring.drift_verdict import evaluate_drift, evaluate_prediction_drift
from fuseboard.monitoring.probe import ProbeResult
from fuseboard.monitoring.result import CheckResult, breach, span, worst
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.shapes import (NoLabels, PerformanceProfile, ReferenceProfile, ValidationMetrics,
                                         WindowColumns, WindowFeature)
from fuseboard.status import Status

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.store.models import WindowProfile

__all__ = ["CheckResult", "breach", "evaluate_drift", "evaluate_health", "evaluate_performance",
           "evaluate_prediction_drift", "evaluate_quality", "evaluate_staleness", "merged", "merged_performance",
           "span", "worst"]


def evaluate_performance(perf: PerformanceProfile | NoLabels, baseline: ValidationMetrics, criticality: str,
                         policy: Policy) -> CheckResult:
    """Each tolerated metric graded against the baseline (tolerance.py); the check is the worst grade.

    From ``policy.min_labelled`` labelled rows the measured metric is graded; from
    ``intervals.MIN_ROWS`` up to that, its 95% interval, and the check has no verdict (``none``)
    while an interval straddles its warn level and no metric is surely degraded.
    """
    labelled = perf.get("labelled", 0) if perf else 0
    window = span(policy.performance_window)
    if not perf or labelled < min(policy.min_labelled, intervals.MIN_ROWS):
        return CheckResult("performance", "none", f"{labelled} labelled rows in the last {window}; a verdict needs "
                           f"{policy.min_labelled}", labelled)
    current = performance.metrics(perf)
    checks = tolerance.assess(perf, current, baseline, tolerance.resolve(policy.tolerances, criticality),
                              policy.min_labelled)
    details: PerformanceDetails = {"metrics": current, "checks": [
        cast(MetricCheckDetails, c.as_dict()) for c in checks]}
    bad = [c for c in checks if c.degraded]
    if bad:
        return CheckResult("performance", Status.worst(c.grade for c in bad),
                           "degraded: " + "; ".join(_metric_phrase(c) for c in bad), labelled, details)
    open_ = [c for c in checks if c.grade == "none"]
    if open_ or (labelled < policy.min_labelled and not checks):
        said = "; ".join(_metric_phrase(c) for c in open_) or "no interval for the tolerated metrics"
        return CheckResult("performance", "none", f"{labelled} labelled rows in the last {window}, too few to "
                           f"tell: {said}; a verdict needs a clear interval or {policy.min_labelled} rows",
                           labelled, details)
    return CheckResult("performance", "ok", "; ".join(_metric_phrase(c) for c in checks) or "no baseline",
                       labelled, details)


def _metric_phrase(c: tolerance.MetricCheck) -> str:
    """``rmse 20.100 (n = 168, 95% interval 17.912-22.374) vs 1.000: crit (warn +10%, crit +50%)``."""
    text = f"{c.metric} {_number(c.current)}"
    if c.interval is not None:
        low, high = c.interval.low, c.interval.high
        text += (f" (n = {c.rows}, 95% interval {_number(low)}{' to ' if low < 0 else '-'}{_number(high)})"
                 if high is not None else f" (n = {c.rows}, 95% lower bound {_number(low)})")
    text += f" vs {_number(c.baseline)}"
    if c.degraded or c.grade == "none":
        return f"{text}: {'undecided' if c.grade == 'none' else c.grade} ({c.tolerance})"
    return f"{text}: ok" if c.interval is not None else text


def _number(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"


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


def merged_performance(rows: list[WindowProfile], attr: str = "performance") -> PerformanceProfile | NoLabels:
    """One performance profile over all the windows ``rows`` (their labelled rows; with ``attr``
    "estimated", their estimates); ``{}`` without any."""
    out: PerformanceProfile | NoLabels = {}
    for row in rows:
        found = getattr(row, attr)
        if found:
            out = performance.merge(out, found) if out else found
    return out
