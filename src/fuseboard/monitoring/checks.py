"""Running the checks over a workspace: read each deployment's windows and probes, evaluate, gather.

This is the part of the checks that touches the database (and, through ``probe``, the network):
``run_checks`` reads the stored window profiles of each deployment, the models' settings and the
previous health results, probes the endpoints, and applies the pure evaluations of evaluate.py.
``checks_at`` gives the same verdicts as they would have been at a past time, from the stored
windows alone: no probe (health is what was recorded then), nothing written.

Each deployment reads exactly its own windows: drift, prediction drift and quality the windows
that start within its drift window before the time checked, performance those within its
performance window, and every summary ends by naming that window (``in the last 1h``, or
``in the 1h to 2026-03-01 14:00 UTC`` for a past time).
What callers imported from here before the split (``CheckResult``, ``Policy``, ``merged``, the
``evaluate_*`` functions, ``probe``, ...) is still importable from here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import LargeBinary, String, type_coerce
from sqlalchemy.orm import defer
from sqlmodel import select as sql_select

from fuseboard.monitoring import rollouts
from fuseboard.monitoring.estimation.verdicts import evaluate_estimated, evaluate_multivariate
from fuseboard.monitoring.evaluate import (CheckResult, breach, evaluate_drift, evaluate_health, evaluate_performance,
                                           evaluate_prediction_drift, evaluate_quality, evaluate_staleness, merged,
                                           merged_performance, worst)
from fuseboard.monitoring.history import generic_columns, generic_performance, name_window, window_phrase
from fuseboard.monitoring.packed_merge import Window, merge_bodies
from fuseboard.monitoring.probe import ProbeResult, Probes, probe
from fuseboard.monitoring.references import REFERENCES
from fuseboard.monitoring.result import span
from fuseboard.monitoring.settings import Policy, policy_for
from fuseboard.monitoring.triage import escalate, triage
from fuseboard.monitoring.shapes import NoLabels, PerformanceProfile, ReferenceProfile, ValidationMetrics, WindowColumns
from fuseboard.store.db import Workspace
from fuseboard.store.models import (CheckRun, CheckState, Deployment, Environment, Model, ModelVersion, WindowProfile,
                                    utcnow)

__all__ = [
    "CHECKS", "CHECK_BATCH", "PROBE_CONCURRENCY", "READS", "WINDOW_CHECKS", "CheckResult", "DeploymentChecks", "Policy",
    "WindowInputs",
    "ProbeResult", "breach", "checks_at", "evaluate_drift", "evaluate_health", "evaluate_performance",
    "evaluate_prediction_drift", "evaluate_quality", "evaluate_staleness", "merged", "merged_performance", "probe",
    "run_checks", "window_checks", "worst",
]


@dataclass
class DeploymentChecks:
    model: str
    environment: str
    version: int
    criticality: str
    status: str
    checks: list[CheckResult]
    at: str | None = None  # the time checked (ISO 8601, UTC)
    # each window-based check's window: {"drift": {"start": ISO, "end": ISO, "span": "1h"}, "performance": ...}
    windows: dict[str, dict[str, str]] = field(default_factory=dict)
    # is the drift hurting the model (triage.py): {"verdict": harmful, watch or ok, "reasons": [...]}
    triage: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [c.as_dict() for c in self.checks]
        return out


def _guard(check: str, fn: Any, *args: Any) -> CheckResult:
    """A check that raises becomes an ``error`` result; the others still run."""
    try:
        return fn(*args)  # noqa: B023
    except Exception as exc:  # noqa: BLE001
        return CheckResult(check, "error", f"check failed: {type(exc).__name__}: {str(exc)[:200]}")


PROBE_CONCURRENCY = 32  # probes in flight at once
CHECKS = ("drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance", "quality",
          "staleness", "health")
WINDOW_CHECKS = ("drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance",
                 "quality")  # the checks that read windows
# which stored profile each window check reads (``estimated_performance`` also reads the labelled rows of its window)
READS = {"features": {"drift", "quality"}, "predictions": {"prediction_drift", "multivariate_drift"},
         "performance": {"performance", "estimated_performance"}, "estimated": {"estimated_performance"}}


CHECK_BATCH = 200  # deployments whose windows and references are in memory at once


@dataclass
class WindowInputs:
    """A deployment's stored windows merged, as the window checks read them (``{}``: not read)."""

    features: WindowColumns = field(default_factory=dict)  # over the drift window
    predictions: WindowColumns = field(default_factory=dict)  # over the drift window
    performance: PerformanceProfile | NoLabels = field(default_factory=dict)  # over the performance window
    estimated: PerformanceProfile | NoLabels = field(default_factory=dict)  # over the drift window
    labelled: PerformanceProfile | NoLabels = field(default_factory=dict)  # over the drift window, beside the estimate


def window_checks(wanted: set[str], merged: WindowInputs, reference: ReferenceProfile, validation: ValidationMetrics,
                  criticality: str, policy: Policy, drift_phrase: str, performance_phrase: str) -> list[CheckResult]:
    """The verdicts of the window-based checks in ``wanted`` (``WINDOW_CHECKS`` order), from merged windows.

    One function for ``run_checks``, ``checks_at`` and the report's periods, so they agree.
    Each summary ends by naming its window (the phrases). A check that raises is an ``error`` result.
    """
    planned = {
        "drift": lambda: evaluate_drift(merged.features, reference, criticality, policy),
        "multivariate_drift": lambda: evaluate_multivariate(merged.predictions, reference, criticality, policy),
        "prediction_drift": lambda: evaluate_prediction_drift(merged.predictions, reference, criticality, policy),
        "estimated_performance": lambda: evaluate_estimated(merged.estimated, merged.labelled, reference, validation,
                                                            criticality, policy),
        "performance": lambda: evaluate_performance(merged.performance, validation, criticality, policy),
        "quality": lambda: evaluate_quality(merged.features, reference, criticality, policy),
    }
    out = []
    for name in WINDOW_CHECKS:
        if name in wanted:
            result = _guard(name, planned[name])
            if result.status != "error":
                name_window(result, performance_phrase if name == "performance" else drift_phrase)
            out.append(result)
    return out


def run_checks(ws: Workspace, *, now: datetime | None = None, policy: Policy | None = None,
               probe_endpoints: bool = True, only: set[str] | None = None,
               select: Callable[[int], bool] | None = None) -> list[DeploymentChecks]:
    """Every check (or those in ``only``) for every deployment, from the stored windows and probes.

    Deployments are checked ``CHECK_BATCH`` at a time: the windows and reference profiles of one
    batch are read, checked and let go before the next, so memory stays flat however many
    deployments there are (all of them at once took 24 GB for 30,000).

    Parameters
    ----------
    select
        When given, only the deployments whose ``Deployment.id`` it accepts are checked (a sharded
        monitor's own); the others are neither probed nor read beyond the list of deployments, nor
        returned. Each result is the one the full run gives for that deployment.
    """
    return _run(ws, now or utcnow(), policy or Policy(), set(only or CHECKS), probe_endpoints, replay=False,
                pick=select)


def checks_at(ws: Workspace, at: datetime, *, policy: Policy | None = None,
              only: set[str] | None = None) -> list[DeploymentChecks]:
    """The checks as they would have been at ``at``, from the stored windows; reads only, writes nothing.

    Each deployment reads the windows that start in its drift (and performance) window before
    ``at``, of the version whose window came last then (the one serving, as the windows record it;
    the deployed version when there are none). Health cannot be probed in the past: it is the
    result recorded at or before ``at`` (``none`` if there is none), said so in its summary.
    Staleness compares the retrain-by date with ``at``'s date. Labels that arrived after ``at``
    for predictions made before it count, as they are stored in those windows.
    """
    return _run(ws, at.astimezone(timezone.utc), policy or Policy(), set(only or CHECKS), False, replay=True)


def _run(ws: Workspace, now: datetime, policy: Policy, wanted: set[str], probe_endpoints: bool, *,
         replay: bool, pick: Callable[[int], bool] | None = None) -> list[DeploymentChecks]:
    heavy = [column for column, needed in (  # read batch by batch, and only when a check needs them
        ("reference_profile", wanted & {"drift", "prediction_drift", "quality", "multivariate_drift",
                                        "estimated_performance"}),
        ("validation_metrics", wanted & {"performance", "estimated_performance"})) if needed]
    # plain rows of the columns the checks read, not ORM objects: a cycle reads thousands of windows; their
    # profiles as stored (compact blobs), merged without a dict per window (packed_merge)
    window_columns = [WindowProfile.id, WindowProfile.version_id, WindowProfile.environment_id, WindowProfile.model_id,
                      WindowProfile.window_start] + [
        type_coerce(getattr(WindowProfile, column), LargeBinary).label(column) for column, needed in (
                          (name, wanted & READS[name]) for name in READS) if needed]
    with ws.session() as s:
        deployments = s.exec(
            sql_select(Deployment, Model, Environment, ModelVersion)
            .options(*[defer(getattr(ModelVersion, c)) for c in ("reference_profile", "validation_metrics",
                                                                  "feature_schema")])
            .join(Model, Model.id == Deployment.model_id)
            .join(Environment, Environment.id == Deployment.environment_id)
            .join(ModelVersion, ModelVersion.id == Deployment.version_id)
            .order_by(Model.name, Environment.order)).all()
        if pick is not None:  # (run_checks's ``select``: a monitor's shards)
            deployments = [row for row in deployments if pick(row[0].id)]
        policies = {model.id: policy_for(model.monitoring, policy) for _, model, _, _ in deployments}
        if "health" not in wanted:
            previous_health: dict[tuple[int, int], Any] = {}
        elif replay:
            previous_health = _recorded_health(s, now)
        else:
            previous_health = {(c.model_id, c.environment_id): c.details
                               for c in s.exec(sql_select(CheckState).where(CheckState.check == "health"))}
        converging = rollouts.converging_until(s) if "health" in wanted and not replay else {}
    results = []
    batches = [deployments[lo:lo + CHECK_BATCH] for lo in range(0, len(deployments), CHECK_BATCH)]

    def read(batch: list[Any]) -> _Batch:
        return _read_batch(ws, batch, policies, policy, wanted, window_columns, heavy, now, replay)

    # the next batch is read (and its windows decompressed: zlib and SQLite let go of the GIL) on a thread
    # while this one checks the batch before; one reader at most, one batch ahead
    ahead = ThreadPoolExecutor(max_workers=1) if len(batches) > 1 and _threads_share(ws) else None
    try:
        with Probes([(d.id, d.endpoint_url, policies[m.id].probe_path, policies[m.id].probe_timeout,
                      policies[m.id].expected_status) for d, m, *_ in deployments  # each model's own settings
                     if d.endpoint_url and probe_endpoints and "health" in wanted], PROBE_CONCURRENCY) as running:
            probes = running.results
            following = ahead.submit(read, batches[0]) if ahead is not None else None
            for k, batch in enumerate(batches):
                if following is not None:
                    found = following.result()
                    following = ahead.submit(read, batches[k + 1]) if k + 1 < len(batches) else None
                else:
                    found = read(batch)
                for dep, model, env, mv in batch:
                    version_id = found.read[dep.id]
                    number, *columns = found.extra.get(version_id, (mv.version,))
                    rows = [r for r in found.by_key.get((model.id, env.id), []) if r.version_id == version_id]
                    results.append(_check_deployment(dep, model, env, number, dict(zip(heavy, columns)), rows,
                                                     policies[model.id], wanted, now, probes,
                                                     previous_health.get((model.id, env.id)),
                                                     converging.get((model.id, env.id)), replay))
    finally:
        if ahead is not None:
            ahead.shutdown(wait=True, cancel_futures=True)
    if "reference_profile" in heavy and not replay:
        REFERENCES.sweep()  # the versions no longer deployed
    return results


def _read_version(rows: list[Any], deployed: int, replay: bool) -> int:
    """The version whose windows a deployment's checks read: the deployed one, or in a replay the
    version whose window came last before the time checked (the deployed one when there is none)."""
    if not replay or not rows:
        return deployed
    latest = rows[-1].window_start
    candidates = {r.version_id for r in rows if r.window_start == latest}
    return deployed if deployed in candidates else max(candidates)


def _recorded_health(s: Any, at: datetime) -> dict[tuple[int, int], dict[str, Any]]:
    """Per (model id, environment id): the health result recorded last at or before ``at`` (a check run
    is written each time the status changes, so it is the status then), with its time."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for run in s.execute(sql_select(CheckRun.model_id, CheckRun.environment_id, CheckRun.status, CheckRun.summary,
                                CheckRun.details, CheckRun.at)
                         .where(CheckRun.check == "health", CheckRun.at <= at)
                         .order_by(CheckRun.at, CheckRun.id)):
        out[(run.model_id, run.environment_id)] = {"status": run.status, "summary": run.summary,
                                                   "details": run.details, "at": run.at}
    return out


def _recorded(found: dict[str, Any] | None, at: datetime) -> CheckResult:
    """The health result recorded at or before ``at``, said to be a record: the past cannot be probed."""
    if found is None:
        return CheckResult("health", "none", f"no health result recorded at or before "
                           f"{at:%Y-%m-%d %H:%M} UTC (the past cannot be probed)")
    when = found["at"].astimezone(timezone.utc)
    return CheckResult("health", found["status"], f"recorded {when:%Y-%m-%d %H:%M} UTC: {found['summary']}",
                       details=found["details"] or {})


def _span(length: timedelta, end: datetime) -> dict[str, str]:
    start = end - length
    return {"start": start.isoformat(), "end": end.isoformat(), "span": span(length)}


@dataclass
class _Batch:
    """What the checks of a batch of deployments read, read together."""

    by_key: dict[tuple[int, int], list[Window]]  # (model id, environment id): its windows, oldest first
    read: dict[int, int]  # deployment id: the version whose windows its checks read
    extra: dict[int, tuple[Any, ...]]  # version id: its number, then the ``heavy`` columns decoded


def _threads_share(ws: Workspace) -> bool:
    """Another thread sees this workspace's data (not an in-memory SQLite database, one per connection)."""
    return ws.engine.url.get_backend_name() != "sqlite" or ws.engine.url.database not in (None, "", ":memory:")


def _read_batch(ws: Workspace, batch: list[Any], policies: dict[int, Policy], policy: Policy, wanted: set[str],
                window_columns: list[Any], heavy: list[str], now: datetime, replay: bool) -> _Batch:
    """The windows (bodies decompressed) and versions the checks of ``batch`` read, in one session."""
    since = now - max((max(policies[m.id].drift_window, policies[m.id].performance_window)
                       for _, m, _, _ in batch), default=policy.drift_window)
    with ws.session() as s:
        if not wanted - {"health", "staleness"}:
            recent = []
        else:  # the windows of the batch's deployments, oldest first, up to the time checked
            owner = WindowProfile.model_id.in_(sorted({m.id for _, m, _, _ in batch})) if replay else \
                WindowProfile.version_id.in_(sorted({mv.id for _, _, _, mv in batch}))
            recent = s.execute(sql_select(*window_columns).where(
                owner, WindowProfile.window_start >= since, WindowProfile.window_start < now)).all()
            # put in order here, not by the database: SQLite sorted the rows blobs and all (2.7x the read)
            recent.sort(key=lambda row: (row.window_start, row.id))
        by_key: dict[tuple[int, int], list[Window]] = {}
        for row in recent:
            by_key.setdefault((row.model_id, row.environment_id), []).append(Window.of(row))
        read = {dep.id: _read_version([r for r in by_key.get((m.id, e.id), []) if r.window_start >= now - max(
            policies[m.id].drift_window, policies[m.id].performance_window)], mv.id, replay)
            for dep, m, e, mv in batch}  # within the deployment's own windows
        versions = sorted(set(read.values()))
        extra = {row[0]: row[1:] for row in s.execute(  # reference profiles as text: decoded once (REFERENCES)
            sql_select(ModelVersion.id, ModelVersion.version, *[
                type_coerce(ModelVersion.reference_profile, String) if c == "reference_profile"
                else getattr(ModelVersion, c) for c in heavy])
            .where(ModelVersion.id.in_(versions)))}
    if "reference_profile" in heavy:
        at = 1 + heavy.index("reference_profile")
        extra = {v: (*row[:at], REFERENCES.decoded(v, row[at]), *row[at + 1:]) for v, row in extra.items()}
    return _Batch(by_key, read, extra)


def _check_deployment(dep: Deployment, model: Model, env: Environment, version: int, loaded: dict[str, Any],
                      rows: list[Window], policy: Policy, wanted: set[str], now: datetime, probes: dict[int, Any],
                      previous_health: dict[str, Any] | None, converging: Any, replay: bool) -> DeploymentChecks:
    reference = loaded.get("reference_profile") or {}
    validation = loaded.get("validation_metrics") or {}
    # the batch read back to the widest window of any model in it: each check keeps only its own
    drift_rows = [r for r in rows if r.window_start >= now - policy.drift_window]
    performance_rows = [r for r in rows if r.window_start >= now - policy.performance_window]
    merged = WindowInputs()
    if wanted & READS["features"]:
        merged.features = merge_bodies([r.features for r in drift_rows], generic_columns)
    if wanted & READS["predictions"]:
        merged.predictions = merge_bodies([r.predictions for r in drift_rows], generic_columns)
    if "performance" in wanted:
        merged.performance = merge_bodies([r.performance for r in performance_rows], generic_performance)
    if "estimated_performance" in wanted:
        merged.estimated = merge_bodies([r.estimated for r in drift_rows], generic_performance)
        merged.labelled = merge_bodies([r.performance for r in drift_rows], generic_performance)
    found = {c.check: c for c in window_checks(
        wanted, merged, reference, validation, model.criticality, policy,
        window_phrase(policy.drift_window, now, live=not replay),
        window_phrase(policy.performance_window, now, live=not replay))}
    if "staleness" in wanted:
        found["staleness"] = _guard("staleness", evaluate_staleness, model.retrain_by, now.date())
    if "health" in wanted:
        found["health"] = _recorded(previous_health, now) if replay else _guard(
            "health", lambda: evaluate_health(probes[dep.id].result() if dep.id in probes else None, version,
                                              model.criticality, previous_health, policy, now, converging))
    checks = [found[name] for name in CHECKS if name in found]
    verdict = triage(checks)
    escalate(checks, verdict, model.criticality)
    windows = {}
    if wanted & {"drift", "prediction_drift", "quality", "multivariate_drift", "estimated_performance"}:
        windows["drift"] = _span(policy.drift_window, now)
    if "performance" in wanted:
        windows["performance"] = _span(policy.performance_window, now)
    return DeploymentChecks(model.name, env.name, version, model.criticality, worst([c.status for c in checks]),
                            checks, now.isoformat(), windows, verdict.as_dict())
