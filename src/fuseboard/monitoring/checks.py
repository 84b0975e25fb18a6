"""Running the checks over a workspace: read each deployment's windows and probes, evaluate, gather.

This is the part of the checks that touches the database (and, through ``probe``, the network):
``run_checks`` reads the stored window profiles of each deployment, the models' settings and the
previous health results, probes the endpoints, and applies the pure evaluations of evaluate.py.
What callers imported from here before the split (``CheckResult``, ``Policy``, ``merged``, the
``evaluate_*`` functions, ``probe``, ...) is still importable from here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import select

from fuseboard.monitoring import rollouts
from fuseboard.monitoring.evaluate import (CheckResult, breach, evaluate_drift, evaluate_health, evaluate_performance,
                                           evaluate_prediction_drift, evaluate_quality, evaluate_staleness, merged,
                                           merged_performance, worst)
from fuseboard.monitoring.probe import ProbeResult, probe
from fuseboard.monitoring.settings import Policy, policy_for
from fuseboard.store.db import Workspace
from fuseboard.store.models import CheckState, Deployment, Environment, Model, ModelVersion, WindowProfile, utcnow

__all__ = [
    "CHECKS", "CHECK_BATCH", "PROBE_CONCURRENCY", "CheckResult", "DeploymentChecks", "Policy", "ProbeResult",
    "breach", "evaluate_drift", "evaluate_health", "evaluate_performance", "evaluate_prediction_drift",
    "evaluate_quality", "evaluate_staleness", "merged", "merged_performance", "probe", "run_checks", "worst",
]


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
    # the batch read back to the widest window of any model in it: each check keeps only its own
    drift_rows = [r for r in rows if r.window_start >= now - policy.drift_window]
    performance_rows = [r for r in rows if r.window_start >= now - policy.performance_window]
    features = merged(drift_rows, "features") if wanted & {"drift", "quality"} else {}
    planned = {
        "drift": lambda: evaluate_drift(features, reference, model.criticality, policy),
        "prediction_drift": lambda: evaluate_prediction_drift(
            merged(drift_rows, "predictions"), reference, model.criticality, policy),
        "performance": lambda: evaluate_performance(merged_performance(performance_rows), validation, model.criticality, policy),
        "quality": lambda: evaluate_quality(features, reference, model.criticality, policy),
        "staleness": lambda: evaluate_staleness(model.retrain_by, now.date()),
        "health": lambda: evaluate_health(probes[dep.id].result() if dep.id in probes else None, mv.version,
                                          model.criticality, previous_health, policy, now, converging),
    }
    checks = [_guard(name, planned[name]) for name in CHECKS if name in wanted]
    return DeploymentChecks(model.name, env.name, mv.version, model.criticality,
                            worst([c.status for c in checks]), checks)
