"""Generate a large synthetic workspace for benchmarks.

    python bench/make_workspace.py PATH.db --models 10000

Each model gets two versions (with a small reference profile), three
deployments and its audit events, inserted in bulk through the real tables.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from fuseboard.store.db import open_workspace
from fuseboard.store.audit import GENESIS, event_hash
from fuseboard.store.models import AuditEvent, Deployment, Environment, Model, ModelVersion, Rollout, Team

PROFILE = {"rows": 1000, "bins": 10, "features": {
    "x": {"kind": "numeric", "count": 1000, "nulls": 0, "mean": 0.0, "std": 1.0, "min": -3.0, "max": 3.0,
          "edges": [-3.0 + 0.6 * i for i in range(11)], "counts": [100] * 10},
    "c": {"kind": "categorical", "count": 1000, "nulls": 0, "distinct": 2, "value_counts": {"a": 600, "b": 400}}}}


def build(path: Path, models: int, seed: int = 1) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    url = f"sqlite:///{path}"
    ws = open_workspace(url)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    with ws.transaction() as s:
        teams = []
        for i in range(20):
            team = Team(name=f"team-{i:02d}", kind=rng.choice(["data-science", "it-operations"]))
            s.add(team)
            teams.append(team)
        s.flush()
        envs = {e.name: e.id for e in s.exec(select(Environment))}
        s.execute(insert(Model), [
            {"id": i + 1, "name": f"model-{i:05d}", "task": rng.choice(["classification", "regression"]),
             "criticality": rng.choice(["mission-critical", "internal"]), "description": f"synthetic model {i}",
             "owner_team_id": rng.choice(teams).id, "builder_team_id": teams[0].id, "created_at": now}
            for i in range(models)])
        versions = []
        for i in range(models):
            for v in (1, 2):
                versions.append({"id": 2 * i + v, "model_id": i + 1, "version": v, "artifact_sha256": "0" * 64,
                                 "artifact_path": "00/none.joblib", "estimator_class": "LogisticRegression",
                                 "target": "y", "feature_schema": [{"name": "x", "kind": "numeric"}],
                                 "validation_metrics": {"roc_auc": 0.8}, "reference_profile": PROFILE,
                                 "registered_by": "bench", "registered_at": now - timedelta(days=3 - v), "note": ""})
        s.execute(insert(ModelVersion), versions)
        s.execute(insert(Deployment), [
            {"model_id": i + 1, "environment_id": envs[env], "version_id": 2 * i + (1 if env == "prod" else 2),
             "endpoint_url": "", "deployed_by": "bench", "deployed_at": now}
            for i in range(models) for env in ("dev", "staging", "prod")])
        s.execute(insert(Rollout), [
            {"model_id": i + 1, "environment_id": envs[env], "action": "deploy", "to_version_id": 2 * i + (
                1 if env == "prod" else 2), "state": "succeeded", "requested_by": "bench", "requested_at": now,
             "finished_at": now} for i in range(models) for env in ("dev", "staging", "prod")])
        events, prev = [], GENESIS
        for i in range(models):  # chained as ops.audit.record chains them
            event = {"at": now, "actor": "bench", "origin": "cli", "client": "", "action": "deploy",
                     "target": f"model-{i:05d}/prod", "before": {}, "after": {"version": 1}, "reason": "bench"}
            prev = event_hash(prev, **event)
            events.append({**event, "prev_hash": events[-1]["hash"] if events else GENESIS, "hash": prev})
        s.execute(insert(AuditEvent), events)
    ws.close()
    return url


def like_real_model(ws, reference, endpoint: str) -> list:  # noqa: ANN001
    """Give every version the schema, reference and metrics of a real registered version, and every
    deployment ``endpoint``; returns the deployments."""
    from sqlalchemy import update

    with ws.transaction() as s:
        s.execute(update(ModelVersion).values(feature_schema=reference.feature_schema,
                                              reference_profile=reference.reference_profile,
                                              validation_metrics=reference.validation_metrics))
        s.execute(update(Deployment).values(endpoint_url=endpoint))
        return list(s.exec(select(Deployment)))


def window_rows(deployments: list, template: list, start: datetime, now: datetime) -> list[dict]:
    """Copies of ``template`` (window profiles, five minutes apart from ``start``) for each deployment."""
    return [{"model_id": d.model_id, "environment_id": d.environment_id, "version_id": d.version_id,
             "window_start": start + timedelta(minutes=5 * i), "window_seconds": 300, "rows": w.rows,
             "features": w.features, "predictions": w.predictions, "performance": w.performance, "updated_at": now}
            for d in deployments for i, w in enumerate(template)]


def report(result: dict, json_path: Path | None, digits: int = 3) -> None:
    """Print a benchmark's figures, one per line, and write them as JSON if asked."""
    import json

    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:>{width}}: {value:.{digits}f}" if isinstance(value, float) else f"{key:>{width}}: {value}")
    if json_path:
        json_path.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--models", type=int, default=1000)
    args = parser.parse_args()
    print(build(args.path, args.models))
