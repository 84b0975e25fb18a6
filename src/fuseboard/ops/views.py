"""Read-side views the faces (console and CLI) share: the one way they read the workspace.

Each returns plain dataclasses so callers never hold a session open, and each
costs a fixed number of SQL statements whatever the workspace size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from fuseboard.ops.records import ModelRow, RolloutInfo
from fuseboard.ops.records import encode as _encode
from fuseboard.status import Status
from fuseboard.store.db import Workspace
from fuseboard.store.models import (AuditEvent, CheckRun, CheckState, Deployment, Environment, Model,
                                     ModelVersion, Person,
                                     Team)

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.details import CheckDetails
    from fuseboard.monitoring.settings import MonitoringSettings
    from fuseboard.monitoring.shapes import (Importance, NoProfile, PerformanceProfile, ReferenceProfile, SchemaEntry,
                                             ValidationMetrics, WindowColumns)


def environments(ws: Workspace) -> list[Environment]:
    with ws.session() as s:
        return list(s.scalars(select(Environment).order_by(Environment.order, Environment.name)))


def model_rows(ws: Workspace) -> list[ModelRow]:
    """One row per model, by name: owner, latest version and version per environment."""
    owner, builder = aliased(Team), aliased(Team)
    latest = (
        select(ModelVersion.model_id, func.max(ModelVersion.version).label("latest"))
        .group_by(ModelVersion.model_id)
        .subquery()
    )
    stmt = (
        select(Model.id, Model.name, Model.task, Model.criticality, owner.name, builder.name,
               Model.description, latest.c.latest)
        .outerjoin(owner, owner.id == Model.owner_team_id)
        .outerjoin(builder, builder.id == Model.builder_team_id)
        .outerjoin(latest, latest.c.model_id == Model.id)
        .order_by(Model.name)
    )
    deployed = (
        select(Deployment.model_id, Environment.name, ModelVersion.version)
        .join(Environment, Environment.id == Deployment.environment_id)
        .join(ModelVersion, ModelVersion.id == Deployment.version_id)
    )
    with ws.session() as s:
        rows: dict[int, ModelRow] = {}
        for mid, name, task, crit, own, build, desc, last in s.execute(stmt):
            rows[mid] = ModelRow(name, task, crit, own, build, desc, last)
        for mid, env, version in s.execute(deployed):
            if mid in rows:
                rows[mid].deployed[env] = version
        statuses = select(CheckState.model_id, CheckState.status).group_by(CheckState.model_id, CheckState.status)
        for mid, status in s.execute(statuses):
            row = rows.get(mid)
            if row is not None and Status.of(status) > Status.of(row.health):
                row.health = status
    return list(rows.values())



@dataclass
class VersionInfo:
    version: int
    estimator_class: str
    registered_by: str
    registered_at: datetime
    metrics: ValidationMetrics
    sha256: str
    features: list[SchemaEntry]
    target: str
    note: str
    importance: Importance | None = None  # permutation importance (ops/importance.py); None before it was kept


@dataclass
class DeploymentInfo:
    environment: str
    protected: bool
    version: int
    endpoint_url: str
    deployed_by: str
    deployed_at: datetime


@dataclass
class AuditInfo:
    at: datetime
    actor: str
    origin: str
    action: str
    target: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    client: str = ""

    def change(self) -> str:
        """``version: 1 -> 2`` for the keys that changed, short enough for a table cell."""
        parts = []
        for key in self.after:
            if key in ("metrics", "sha256", "endpoint_url") and key not in self.before:
                continue
            if key in ("rollout", "hook", "output"):  # in the event's --json and the rollout's history
                continue
            old, new = self.before.get(key), self.after[key]
            if old is None:
                parts.append(f"{key} {_short(new)}")
            elif old != new:
                parts.append(f"{key} {_short(old)} -> {_short(new)}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return _encode(asdict(self))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def audit_events(ws: Workspace, target: str | None = None, limit: int = 50, *, model: str | None = None,
                 env: str | None = None, since: datetime | None = None) -> list[AuditInfo]:
    """Newest first; a model name also matches ``name/env`` and ``name@vN`` targets.

    ``model`` and ``env`` narrow to one model and/or environment (``model/env`` targets);
    ``since`` to events at or after that time.
    """
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    for name in (target, model):  # the name itself, its deployments (name/env) and versions (name@vN)
        if name:
            stmt = stmt.where((AuditEvent.target == name)
                              | AuditEvent.target.startswith(f"{name}/", autoescape=True)
                              | AuditEvent.target.startswith(f"{name}@", autoescape=True))
    if env:
        stmt = stmt.where(AuditEvent.target.endswith(f"/{env}", autoescape=True))
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    with ws.session() as s:
        return [AuditInfo(e.at, e.actor, e.origin, e.action, e.target, e.before, e.after, e.reason, e.client)
                for e in s.scalars(stmt)]


def _rollout_info(r: Any, versions: dict[int, int]) -> RolloutInfo:
    return RolloutInfo(r.id, r.action, versions.get(r.from_version_id), versions[r.to_version_id], r.state,
                       r.requested_by, r.requested_at, r.finished_at, r.reason, r.hook, r.hook_status,
                       r.hook_output, r.converged_at, r.known_good_at, r.ended_at, r.revoked_at, r.revoked_reason)


def rollout_history(ws: Workspace, model: str, env: str, limit: int = 100) -> list[RolloutInfo] | None:
    """A deployment's rollouts, newest first (None when the model or environment is unknown)."""
    from fuseboard.store.models import Rollout

    with ws.session() as s:
        found = _deployment(s, model, env)
        if found is None:
            return None
        m, e, _ = found
        versions = {v.id: v.version for v in s.scalars(select(ModelVersion).where(ModelVersion.model_id == m.id))}
        rows = s.scalars(select(Rollout).where(Rollout.model_id == m.id, Rollout.environment_id == e.id)
                         .order_by(Rollout.requested_at.desc(), Rollout.id.desc()).limit(limit))
        return [_rollout_info(r, versions) for r in rows]


def serving_at(ws: Workspace, model: str, env: str, at: datetime) -> RolloutInfo | None:
    """The rollout whose version was serving in ``env`` at ``at`` (None: nothing was)."""
    from fuseboard.store.models import Rollout

    with ws.session() as s:
        found = _deployment(s, model, env)
        if found is None:
            return None
        m, e, _ = found
        r = s.scalars(select(Rollout).where(
            Rollout.model_id == m.id, Rollout.environment_id == e.id, Rollout.state == "succeeded",
            Rollout.finished_at <= at, (Rollout.ended_at.is_(None)) | (Rollout.ended_at > at))
            .order_by(Rollout.finished_at.desc(), Rollout.id.desc())).first()
        if r is None:
            return None
        versions = {v.id: v.version for v in s.scalars(select(ModelVersion).where(ModelVersion.model_id == m.id))}
        return _rollout_info(r, versions)


@dataclass
class Cell:
    """One deployment in the environments matrix."""

    version: int
    health: str  # worst latest check result ("none": no verdict yet)
    known_good: bool  # the serving version is known-good in this environment
    pending: int | None = None  # a change in flight to this version


@dataclass
class MatrixRow:
    model: str
    criticality: str
    cells: dict[str, Cell]  # environment -> its deployment


def environment_matrix(ws: Workspace) -> tuple[list[Environment], list[MatrixRow]]:
    """Every model's deployment in every environment, in a fixed number of queries."""
    from fuseboard.store.models import Rollout

    with ws.session() as s:
        envs = list(s.scalars(select(Environment).order_by(Environment.order, Environment.name)))
        env_names = {e.id: e.name for e in envs}
        rows = {mid: MatrixRow(name, crit, {}) for mid, name, crit in
                s.execute(select(Model.id, Model.name, Model.criticality).order_by(Model.name))}
        versions = dict(s.execute(select(ModelVersion.id, ModelVersion.version)).all())
        good = {(mid, eid, vid) for mid, eid, vid in s.execute(
            select(Rollout.model_id, Rollout.environment_id, Rollout.to_version_id)
            .where(Rollout.known_good_at.is_not(None), Rollout.revoked_at.is_(None)))}
        pending = dict(s.execute(select(Rollout.id, Rollout.to_version_id).where(Rollout.state == "pending")).all())
        health: dict[tuple[int, int], str] = {}
        for mid, eid, status in s.execute(select(CheckState.model_id, CheckState.environment_id, CheckState.status)):
            if Status.of(status) > Status.of(health.get((mid, eid))):
                health[(mid, eid)] = status
        for d in s.scalars(select(Deployment)):
            row = rows.get(d.model_id)
            if row is None:
                continue
            row.cells[env_names[d.environment_id]] = Cell(
                versions[d.version_id], health.get((d.model_id, d.environment_id), "none"),
                (d.model_id, d.environment_id, d.version_id) in good,
                versions.get(pending.get(d.pending_rollout_id)) if d.pending_rollout_id else None)
    return envs, list(rows.values())


@dataclass
class ModelDetail:
    name: str
    task: str
    criticality: str
    description: str
    owner: str | None
    builder: str | None
    retrain_by: date | None
    created_at: datetime
    versions: list[VersionInfo]
    deployments: list[DeploymentInfo]
    audit: list[AuditInfo]
    people: list[str]

    def as_dict(self) -> dict[str, Any]:
        return _encode(asdict(self))


def model_detail(ws: Workspace, name: str, audit_limit: int = 50) -> ModelDetail | None:
    with ws.session() as s:
        m = s.scalars(select(Model).where(Model.name == name)).first()
        if m is None:
            return None
        teams = {t.id: t.name for t in s.scalars(select(Team))}
        versions = [
            VersionInfo(v.version, v.estimator_class, v.registered_by, v.registered_at, v.validation_metrics,
                        v.artifact_sha256, v.feature_schema, v.target, v.note, v.reference_profile.get("importance"))
            for v in s.scalars(
                select(ModelVersion).where(ModelVersion.model_id == m.id).order_by(ModelVersion.version.desc())
            )
        ]
        deps = [
            DeploymentInfo(env.name, env.protected, mv.version, d.endpoint_url, d.deployed_by, d.deployed_at)
            for d, env, mv in s.execute(
                select(Deployment, Environment, ModelVersion)
                .join(Environment, Environment.id == Deployment.environment_id)
                .join(ModelVersion, ModelVersion.id == Deployment.version_id)
                .where(Deployment.model_id == m.id)
                .order_by(Environment.order)
            )
        ]
        people = [
            f"{p.name} <{p.email}>" if p.email else p.name
            for p in s.scalars(select(Person).where(Person.team_id == m.owner_team_id).order_by(Person.name))
        ] if m.owner_team_id else []
    events = audit_events(ws, m.name, audit_limit)
    return ModelDetail(m.name, m.task, m.criticality, m.description, teams.get(m.owner_team_id),
                       teams.get(m.builder_team_id), m.retrain_by, m.created_at, versions, deps, events, people)


@dataclass
class TeamRow:
    name: str
    kind: str
    description: str
    members: list[str]
    models_owned: int


def team_rows(ws: Workspace) -> list[TeamRow]:
    with ws.session() as s:
        teams = list(s.scalars(select(Team).order_by(Team.name)))
        members: dict[int, list[str]] = {}
        for p in s.scalars(select(Person).order_by(Person.name)):
            members.setdefault(p.team_id, []).append(p.handle)
        owned = dict(s.execute(select(Model.owner_team_id, func.count()).group_by(Model.owner_team_id)).all())
        return [TeamRow(t.name, t.kind, t.description, members.get(t.id, []), owned.get(t.id, 0)) for t in teams]


@dataclass
class CheckInfo:
    check: str
    status: str
    summary: str
    rows: int
    details: CheckDetails  # the check kind's (monitoring/details.py); ``{}`` in the history
    at: datetime
    since: datetime
    version: int


@dataclass
class DeploymentHealth:
    model: str
    environment: str
    criticality: str
    version: int | None
    endpoint_url: str
    states: list[CheckInfo]
    history: list[CheckInfo]


def _deployment(s: Any, model: str, env: str) -> tuple[Any, Any, Any] | None:
    """(model, environment, deployment or None) by name; None when either name is unknown."""
    m = s.scalars(select(Model).where(Model.name == model)).first()
    e = s.scalars(select(Environment).where(Environment.name == env)).first()
    if m is None or e is None:
        return None
    dep = s.scalars(select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)).first()
    return m, e, dep


def deployment_health(ws: Workspace, model: str, env: str, history_limit: int = 30) -> DeploymentHealth | None:
    """The latest result of every check on a deployment, and its recent status changes."""
    with ws.session() as s:
        found = _deployment(s, model, env)
        if found is None:
            return None
        m, e, dep = found
        versions = {v.id: v.version for v in s.scalars(select(ModelVersion).where(ModelVersion.model_id == m.id))}
        states = [CheckInfo(c.check, c.status, c.summary, c.rows, c.details, c.at, c.since, versions.get(c.version_id, 0))
                  for c in s.scalars(select(CheckState).where(CheckState.model_id == m.id,
                                                              CheckState.environment_id == e.id))]
        history = [CheckInfo(r.check, r.status, r.summary, r.rows, {}, r.at, r.at, versions.get(r.version_id, 0))
                   for r in s.scalars(select(CheckRun).where(CheckRun.model_id == m.id, CheckRun.environment_id == e.id)
                                      .order_by(CheckRun.at.desc(), CheckRun.id.desc()).limit(history_limit))]
    order = ("health", "drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance",
             "quality", "staleness")
    states.sort(key=lambda c: order.index(c.check) if c.check in order else len(order))
    return DeploymentHealth(m.name, e.name, m.criticality, versions.get(dep.version_id) if dep else None,
                            dep.endpoint_url if dep else "", states, history)


def recent_profiles(ws: Workspace, model: str, env: str, since: datetime
                    ) -> tuple[ReferenceProfile | NoProfile, WindowColumns]:
    """The serving version's reference profile and its window profiles since ``since`` merged into one per
    feature; ``({}, {})`` when nothing serves ``model`` in ``env``."""
    from fuseboard.monitoring.evaluate import merged
    from fuseboard.store.models import WindowProfile

    with ws.session() as s:
        found = _deployment(s, model, env)
        if found is None or found[2] is None:
            return {}, {}
        _, e, dep = found
        mv = s.get(ModelVersion, dep.version_id)
        rows = list(s.scalars(select(WindowProfile).where(
            WindowProfile.version_id == mv.id, WindowProfile.environment_id == e.id,
            WindowProfile.window_start >= since).order_by(WindowProfile.window_start)))
    return cast("ReferenceProfile | NoProfile", mv.reference_profile), merged(rows, "features")


def performance_history(ws: Workspace, model: str, env: str, since: datetime
                        ) -> tuple[str, ValidationMetrics, list[tuple[datetime, PerformanceProfile]]]:
    """(task, the serving version's validation metrics, its labelled windows' ``(start, performance)``)."""
    from fuseboard.store.models import WindowProfile

    with ws.session() as s:
        found = _deployment(s, model, env)
        if found is None or found[2] is None:
            return "", {}, []
        m, e, dep = found
        baseline = s.scalars(select(ModelVersion.validation_metrics).where(ModelVersion.id == dep.version_id)).first()
        rows = s.execute(select(WindowProfile.window_start, WindowProfile.performance).where(
            WindowProfile.version_id == dep.version_id, WindowProfile.environment_id == e.id,
            WindowProfile.window_start >= since).order_by(WindowProfile.window_start)).all()
    return m.task, baseline or {}, [(start, perf) for start, perf in rows if perf]


@dataclass(frozen=True)
class AlertBrief:
    """What a confirmation names about an alert."""

    id: int
    fingerprint: str
    severity: str
    state: str


def alert_brief(ws: Workspace, alert_id: int) -> AlertBrief | None:
    """The alert's fingerprint, severity and state; None when there is no such alert."""
    from fuseboard.store.models import Alert

    with ws.session() as s:
        a = s.get(Alert, alert_id)
        return None if a is None else AlertBrief(a.id, a.fingerprint, a.severity, a.state)


def serves_protected(ws: Workspace, model: str, env: str) -> bool:
    """Whether ``env`` is protected (prod) and ``model`` exists; NotFound for an unknown name of either."""
    from fuseboard.store import lookup

    with ws.session() as s:
        return lookup.environment(s, env).protected and bool(lookup.model(s, model))


@dataclass(frozen=True)
class ModelSettings:
    """A model's name as stored and its monitoring settings as set (the policy fills in defaults)."""

    name: str
    monitoring: MonitoringSettings
    criticality: str = "internal"  # the tier whose default tolerances apply


def model_settings(ws: Workspace, model: str) -> ModelSettings:
    """The monitoring settings stored for ``model``; NotFound for an unknown model."""
    from fuseboard.store import lookup

    with ws.session() as s:
        m = lookup.model(s, model)
        return ModelSettings(m.name, dict(m.monitoring or {}), m.criticality)
