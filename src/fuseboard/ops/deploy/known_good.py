"""Where a rollback goes: the last known-good version older than the one serving, and, when there is
none, why (what exists, and how to choose a version instead)."""

from __future__ import annotations

from sqlmodel import Session, select

from fuseboard.store.models import Environment, Model, ModelVersion, Rollout, RolloutState, utcnow


def last_known_good(s: Session, m: Model, e: Environment, exclude_version_id: int | None) -> ModelVersion | None:
    """Where a rollback goes: the newest version older than the one serving (``exclude_version_id``) that
    became known-good in this environment and was not rolled back from there since (a rollback never
    goes forward). With no serving version, the newest known-good one."""
    serving = s.get(ModelVersion, exclude_version_id) if exclude_version_id is not None else None
    stmt = (select(ModelVersion).join(Rollout, Rollout.to_version_id == ModelVersion.id)
            .where(Rollout.model_id == m.id, Rollout.environment_id == e.id, Rollout.known_good_at.is_not(None),
                   Rollout.revoked_at.is_(None)))
    if serving is not None:
        stmt = stmt.where(ModelVersion.version < serving.version)
    return s.exec(stmt.order_by(ModelVersion.version.desc())).first()


def _no_rollback_target(s: Session, m: Model, e: Environment, current: ModelVersion) -> str:
    """Why there is nothing to roll back to, saying what exists and how to choose a version instead."""
    rows = s.exec(select(Rollout, ModelVersion.version).join(ModelVersion, ModelVersion.id == Rollout.to_version_id)
                  .where(Rollout.model_id == m.id, Rollout.environment_id == e.id,
                         Rollout.state == RolloutState.SUCCEEDED, ModelVersion.version != current.version)
                  .order_by(ModelVersion.version.desc(), Rollout.id.desc())).all()
    facts: dict[int, str] = {}
    for r, number in rows:
        if number in facts:
            continue
        if r.revoked_at is not None:
            facts[number] = f"v{number} was rolled back from at {r.revoked_at.astimezone():%H:%M}" + (
                "" if r.revoked_at.astimezone().date() == utcnow().astimezone().date()
                else f" on {r.revoked_at.astimezone():%Y-%m-%d}")
        elif r.known_good_at is not None:
            facts[number] = f"v{number} is known-good but newer"
        else:
            facts[number] = f"v{number} served but never became known-good"
    said = "; ".join(facts.values()) or f"no other version ever served in {e.name}"
    return (f"{m.name} in {e.name} has no known-good version older than v{current.version} to roll back to "
            f"({said}); deploy a chosen version with fuseboard deploy {m.name} VERSION --env {e.name}")
