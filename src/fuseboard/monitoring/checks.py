"""The checks: data drift, prediction drift, performance, data quality, staleness and health.

``evaluate_*`` functions are pure: profiles and settings in, a ``CheckResult``
out. ``run_checks`` gathers the stored window profiles of each deployment
(merging them is exact and cheap) and applies them; ``probe`` asks an
endpoint over HTTP.

Severity follows the model's criticality: a breach on a mission-critical model
is ``crit``, on an internal model ``warn``; PSI keeps its two levels (warn from
0.1, crit from 0.25) for mission-critical models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import select

from fuseboard.monitoring import drift, performance, rollouts, windows
from fuseboard.store.db import Workspace
from fuseboard.store.models import (STATUS_ORDER, CheckState, Deployment, Environment, Model, ModelVersion,
                                     WindowProfile,
                                     utcnow)



@dataclass
class Policy:
    """How a model is checked; every field has the documented default."""

    drift_window: timedelta = timedelta(hours=1)
    performance_window: timedelta = timedelta(hours=24)
    min_rows: int = 100  # fewer rows than this in the window: no drift verdict
    min_labelled: int = performance.MIN_SAMPLES
    methods: dict[str, str] = field(default_factory=dict)  # feature -> method (default PSI)
    thresholds: dict[str, float] = field(default_factory=dict)  # feature -> threshold
    key_features: tuple[str, ...] = ()
    drift_share: float = drift.DEFAULT_DRIFT_SHARE
    tolerances: dict[str, tuple[str, float]] = field(default_factory=lambda: dict(performance.DEFAULT_TOLERANCES))
    null_rate_increase: float = 0.05  # absolute increase over the reference's null rate
    unseen_share: float = 0.05  # share of rows with categories the reference never had
    failures_to_alert: int = 3  # consecutive failed probes before an outage alert
    probe_history: int = 120  # probes kept for uptime and latency percentiles
    probe_path: str = "/health"
    probe_timeout: float = 2.0
    expected_status: int = 200


@dataclass
class CheckResult:
    check: str
    status: str  # ok, warn, crit, none (no data yet), error (the check itself failed)
    summary: str
    rows: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def breach(criticality: str) -> str:
    return "crit" if criticality == "mission-critical" else "warn"


def worst(statuses: list[str]) -> str:
    """The deployment's status: its worst check; ``none`` only when no check has a verdict."""
    known = [s for s in statuses if s != "none"]
    return max(known, key=lambda s: STATUS_ORDER.get(s, 0)) if known else "none"


# -- pure evaluations ----------------------------------------------------------------------

def evaluate_drift(features: dict[str, Any], reference: dict[str, Any], criticality: str,
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
    return CheckResult("drift", status, summary, rows, {
        "dataset_drift": dataset, "drift_share": policy.drift_share, "key_features_drifted": key,
        "features": [{"feature": r.feature, "method": r.method, "score": r.score, "threshold": r.threshold,
                      "drifted": r.drifted, "severity": r.severity} for r in results]})


def evaluate_prediction_drift(predictions: dict[str, Any], reference: dict[str, Any], criticality: str,
                              policy: Policy) -> CheckResult:
    current = predictions.get("score") or predictions.get("prediction")
    ref = reference.get("scores") if "score" in predictions else reference.get("predictions")
    rows = current["count"] + current["nulls"] if current else 0
    if not current or not ref or rows < policy.min_rows:
        return CheckResult("prediction_drift", "none", f"{rows} predictions; a verdict needs {policy.min_rows}", rows)
    if ref["kind"] == "categorical":  # align the reference's label counts with the window's class counts
        ref = {**ref, "value_counts": {k: ref["value_counts"].get(k, 0) for k in current["value_counts"]
                                       if k != windows.UNSEEN}}
    result = drift.feature_drift("score" if "score" in predictions else "prediction", ref, current, "psi")
    status = "ok" if not result.drifted else ("crit" if breach(criticality) == "crit" and result.severity == "crit"
                                              else "warn")
    return CheckResult("prediction_drift", status, f"{result.feature} PSI {result.score:.3f}"
                       f" ({'drifted' if result.drifted else 'stable'})", rows,
                       {"feature": result.feature, "method": "psi", "score": result.score,
                        "threshold": result.threshold, "drifted": result.drifted})


def evaluate_performance(perf: dict[str, Any], baseline: dict[str, Any], criticality: str,
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
    return CheckResult("performance", status, ("degraded: " if bad else "") + ("; ".join(parts) or "no baseline"),
                       labelled, {"metrics": current, "checks": [c.as_dict() for c in checks]})


def evaluate_quality(features: dict[str, Any], reference: dict[str, Any], criticality: str,
                     policy: Policy) -> CheckResult:
    findings = []
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
    return CheckResult("quality", status, summary or "no nulls, unseen categories or out-of-range values beyond "
                       "the thresholds", rows, {"findings": findings})


def evaluate_staleness(retrain_by: date | None, today: date) -> CheckResult:
    if retrain_by is None:
        return CheckResult("staleness", "none", "no retrain-by date set")
    if retrain_by < today:
        return CheckResult("staleness", "warn", f"past its retrain-by date {retrain_by.isoformat()} "
                           f"({(today - retrain_by).days} days ago)")
    return CheckResult("staleness", "ok", f"retrain by {retrain_by.isoformat()} (in {(retrain_by - today).days} days)")


# -- health --------------------------------------------------------------------------------

@dataclass
class ProbeResult:
    up: bool
    status_code: int | None
    latency_ms: float | None
    version: str | None
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(url: str, path: str = "/health", timeout: float = 2.0, expected_status: int = 200) -> ProbeResult:
    """GET the endpoint's health path; up when it answers ``expected_status`` within ``timeout`` (in all).

    Redirects are not followed: a 3xx is "not up, HTTP 302 -> Location" (unless it is the
    expected status). The version is read from a JSON body's ``version`` (or ``model_version``) field.
    """
    from fuseboard import http

    target = url.rstrip("/") + path
    answer = http.request("GET", target, deadline=timeout, max_body=65536)
    if answer.status is None:
        return ProbeResult(False, None, None, None, answer.error[:200])
    code = answer.status
    latency = answer.seconds * 1000
    if answer.error:  # the headers came, the body did not (in time)
        return ProbeResult(False, code, latency, None, answer.describe()[:200])
    version = None
    try:
        data = json.loads(answer.body)
        if isinstance(data, dict):
            found = data.get("version", data.get("model_version"))
            version = None if found is None else str(found)
    except (ValueError, UnicodeDecodeError):
        pass
    return ProbeResult(code == expected_status, code, latency, version,
                       "" if code == expected_status else answer.describe()[:200])


def evaluate_health(result: ProbeResult | None, expected_version: int, criticality: str,
                    previous: dict[str, Any] | None = None, policy: Policy | None = None,
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
    previous = previous or {}
    stamp = (now or utcnow()).isoformat(timespec="seconds")
    samples = [*previous.get("samples", []), [stamp, int(result.up), result.latency_ms]][-policy.probe_history:]
    failures = 0 if result.up else int(previous.get("consecutive_failures", 0)) + 1
    latencies = sorted(x[2] for x in samples if x[1] and x[2] is not None)
    details = {**result.as_dict(), "samples": samples, "consecutive_failures": failures,
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


# -- running over a workspace --------------------------------------------------------------

@dataclass
class DeploymentChecks:
    model: str
    environment: str
    version: int
    criticality: str
    status: str
    checks: list[CheckResult]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [c.as_dict() for c in self.checks]
        return out


def merged(rows: list[WindowProfile], attr: str) -> dict[str, Any]:
    """One profile per feature (or prediction) over all the windows ``rows``."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        for name, profile in getattr(row, attr).items():
            by_name.setdefault(name, []).append(profile)
    return {name: windows.merge_all(profiles) for name, profiles in by_name.items()}


def merged_performance(rows: list[WindowProfile]) -> dict[str, Any]:
    out: dict[str, Any] = {}
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


def _guard(check: str, fn: Any, *args: Any) -> CheckResult:
    """A check that raises becomes an ``error`` result; the others still run."""
    try:
        return fn(*args)  # noqa: B023
    except Exception as exc:  # noqa: BLE001
        return CheckResult(check, "error", f"check failed: {type(exc).__name__}: {str(exc)[:200]}")


PROBE_CONCURRENCY = 32  # probes in flight at once
CHECKS = ("drift", "prediction_drift", "performance", "quality", "staleness", "health")


CHECK_BATCH = 200  # deployments whose windows and references are in memory at once


def run_checks(ws: Workspace, *, now: datetime | None = None, policy: Policy | None = None,
               probe_endpoints: bool = True, only: set[str] | None = None) -> list[DeploymentChecks]:
    """Every check (or those in ``only``) for every deployment, from the stored windows and probes.

    Deployments are checked ``CHECK_BATCH`` at a time: the windows and reference profiles of one
    batch are read, checked and let go before the next, so memory stays flat however many
    deployments there are (all of them at once took 24 GB for 30,000).
    """
    wanted = set(only or CHECKS)
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import defer

    from fuseboard.monitoring.settings import policy_for

    now = now or utcnow()
    policy = policy or Policy()
    heavy = [column for column, needed in (  # read batch by batch, and only when a check needs them
        ("reference_profile", wanted & {"drift", "prediction_drift", "quality"}),
        ("validation_metrics", wanted & {"performance"})) if needed]
    # plain rows of the columns the checks read, not ORM objects: a cycle reads thousands of windows
    window_columns = [WindowProfile.version_id, WindowProfile.environment_id, WindowProfile.window_start] + [
        getattr(WindowProfile, column) for column, needed in (
            ("features", wanted & {"drift", "quality"}), ("predictions", wanted & {"prediction_drift"}),
            ("performance", wanted & {"performance"})) if needed]
    with ws.session() as s:
        deployments = s.exec(
            select(Deployment, Model, Environment, ModelVersion)
            .options(*[defer(getattr(ModelVersion, c)) for c in ("reference_profile", "validation_metrics",
                                                                  "feature_schema")])
            .join(Model, Model.id == Deployment.model_id)
            .join(Environment, Environment.id == Deployment.environment_id)
            .join(ModelVersion, ModelVersion.id == Deployment.version_id)
            .order_by(Model.name, Environment.order)).all()
        policies = {model.id: policy_for(model.monitoring, policy) for _, model, _, _ in deployments}
        previous_health = {(c.model_id, c.environment_id): c.details
                           for c in s.exec(select(CheckState).where(CheckState.check == "health"))} \
            if "health" in wanted else {}
        converging = rollouts.converging_until(s) if "health" in wanted else {}
    results = []
    with ThreadPoolExecutor(max_workers=PROBE_CONCURRENCY) as pool:
        probes = {d.id: pool.submit(probe, d.endpoint_url, policies[m.id].probe_path, policies[m.id].probe_timeout,
                                    policies[m.id].expected_status)  # each model's own probe settings
                  for d, m, *_ in deployments if d.endpoint_url and probe_endpoints and "health" in wanted}
        for lo in range(0, len(deployments), CHECK_BATCH):
            batch = deployments[lo:lo + CHECK_BATCH]
            versions = sorted({mv.id for _, _, _, mv in batch})
            with ws.session() as s:
                extra = {row[0]: row[1:] for row in s.execute(
                    select(ModelVersion.id, *[getattr(ModelVersion, c) for c in heavy])
                    .where(ModelVersion.id.in_(versions)))} if heavy else {}
                since = now - max((max(policies[m.id].drift_window, policies[m.id].performance_window)
                                   for _, m, _, _ in batch), default=policy.drift_window)
                recent = s.execute(select(*window_columns).where(
                    WindowProfile.version_id.in_(versions), WindowProfile.window_start >= since)).all() \
                    if wanted - {"health", "staleness"} else []
            by_key: dict[tuple[int, int], list[Any]] = {}
            for row in recent:
                by_key.setdefault((row.version_id, row.environment_id), []).append(row)
            for dep, model, env, mv in batch:
                loaded = dict(zip(heavy, extra.get(mv.id, ())))
                results.append(_check_deployment(dep, model, env, mv, loaded, by_key.get((mv.id, env.id), []),
                                                 policies[model.id], wanted, now, probes,
                                                 previous_health.get((model.id, env.id)),
                                                 converging.get((model.id, env.id))))
    return results


def _check_deployment(dep: Deployment, model: Model, env: Environment, mv: ModelVersion, loaded: dict[str, Any],
                      rows: list[Any], policy: Policy, wanted: set[str], now: datetime, probes: dict[int, Any],
                      previous_health: dict[str, Any] | None, converging: Any) -> DeploymentChecks:
    reference = loaded.get("reference_profile") or {}
    validation = loaded.get("validation_metrics") or {}
    drift_rows = [r for r in rows if r.window_start >= now - policy.drift_window]
    features = merged(drift_rows, "features") if wanted & {"drift", "quality"} else {}
    planned = {
        "drift": lambda: evaluate_drift(features, reference, model.criticality, policy),
        "prediction_drift": lambda: evaluate_prediction_drift(
            merged(drift_rows, "predictions"), reference, model.criticality, policy),
        "performance": lambda: evaluate_performance(merged_performance(rows), validation, model.criticality, policy),
        "quality": lambda: evaluate_quality(features, reference, model.criticality, policy),
        "staleness": lambda: evaluate_staleness(model.retrain_by, now.date()),
        "health": lambda: evaluate_health(probes[dep.id].result() if dep.id in probes else None, mv.version,
                                          model.criticality, previous_health, policy, now, converging),
    }
    checks = [_guard(name, planned[name]) for name in CHECKS if name in wanted]
    return DeploymentChecks(model.name, env.name, mv.version, model.criticality,
                            worst([c.status for c in checks]), checks)
