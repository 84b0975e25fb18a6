"""What the monitor learns about rollouts: when an endpoint converged, and when a version became known-good.

A version becomes known-good in an environment once it has served there for the
environment's soak time (default one hour) with no critical alert on that deployment;
the rollout records when. Rollback targets the newest known-good version older than the
one serving. A version rolled back from stops being known-good in that environment (its
rollouts are revoked, audited as ``rollout.known_good_revoked``) and never becomes so again
there, unless it is deployed again: that new rollout soaks afresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlmodel import Session, select

from fuseboard.status import Status
from fuseboard.store import audit
from fuseboard.store.models import Alert, Environment, Model, ModelVersion, Rollout


def known_good_at(finished_at: datetime, ended_at: datetime | None, soak: timedelta,
                  critical: Iterable[tuple[datetime, datetime | None]], now: datetime) -> datetime | None:
    """When a rollout that finished at ``finished_at`` became known-good, or None (not yet, or never).

    ``critical``: (opened, resolved or None) of the deployment's critical alerts. Any of them
    open at some point during the soak spoils it.
    """
    due = finished_at + soak
    if (ended_at or now) < due:
        return None
    for opened, resolved in critical:
        if opened < due and (resolved is None or resolved > finished_at):
            return None
    return due


def current(session: Session, model_id: int, environment_id: int) -> Rollout | None:
    """The rollout of the version serving now (the latest that succeeded and has not ended)."""
    return session.exec(select(Rollout).where(
        Rollout.model_id == model_id, Rollout.environment_id == environment_id, Rollout.state == "succeeded",
        Rollout.ended_at.is_(None)).order_by(Rollout.id.desc())).first()


def mark_known_good(session: Session, now: datetime, *, only: set[tuple[int, int]] | None = None) -> list[Rollout]:
    """Record every rollout that has become known-good since the last look; audited (origin monitor).

    A fixed number of queries, whatever the number of deployments (it runs after every health cycle).
    ``only``: the (model id, environment id) pairs to look at (a monitor's shards), else every one.
    """
    waiting = [r for r in session.exec(select(Rollout).where(
        Rollout.state == "succeeded", Rollout.known_good_at.is_(None), Rollout.finished_at.is_not(None),
        Rollout.revoked_at.is_(None))).all() if only is None or (r.model_id, r.environment_id) in only]
    envs = {e.id: e for e in session.exec(select(Environment))}
    due = [r for r in waiting if (r.ended_at or now) >= r.finished_at + timedelta(seconds=envs[r.environment_id]
                                                                                  .soak_seconds)]
    if not due:
        return []
    crit: dict[tuple[int, int], list[tuple[datetime, datetime | None]]] = {}
    for model_id, env_id, opened, resolved in session.exec(select(
            Alert.model_id, Alert.environment_id, Alert.opened_at, Alert.resolved_at)
            .where(Alert.severity == Status.CRIT)):
        crit.setdefault((model_id, env_id), []).append((opened, resolved))
    names = dict(session.exec(select(Model.id, Model.name)).all())
    numbers = dict(session.exec(select(ModelVersion.id, ModelVersion.version)
                                .where(ModelVersion.id.in_({r.to_version_id for r in due}))).all())
    marked = []
    for r in due:
        env = envs[r.environment_id]
        when = known_good_at(r.finished_at, r.ended_at, timedelta(seconds=env.soak_seconds),
                             crit.get((r.model_id, r.environment_id), []), now)
        if when is None:
            continue
        r.known_good_at = when
        session.add(r)
        audit.record(session, action="rollout.known_good", target=f"{names[r.model_id]}/{env.name}", actor="monitor",
                     origin="monitor", after={"version": numbers[r.to_version_id], "rollout": r.id,
                                              "soak_seconds": env.soak_seconds}, at=now)
        marked.append(r)
    return marked


def revoke_rolled_back_from(session: Session, rollback: Rollout, *, target: str, actor: str, origin: str,
                            reason: str, at: datetime) -> list[Rollout]:
    """A succeeded ``rollback`` left its from-version: that version stops being known-good in the
    environment. Every earlier rollout of it there is revoked (so the monitor never marks it either),
    audited as ``rollout.known_good_revoked`` with when and why. Runs in the rollback's transaction."""
    if rollback.from_version_id is None:
        return []
    earlier = session.exec(select(Rollout).where(
        Rollout.model_id == rollback.model_id, Rollout.environment_id == rollback.environment_id,
        Rollout.to_version_id == rollback.from_version_id, Rollout.id < rollback.id,
        Rollout.revoked_at.is_(None))).all()
    if not earlier:
        return []
    number = session.get(ModelVersion, rollback.from_version_id).version
    to = session.get(ModelVersion, rollback.to_version_id).version
    why = f"rolled back from v{number} to v{to} by {actor}" + (f": {reason}" if reason else "")
    for r in earlier:
        r.revoked_at, r.revoked_reason = at, why[:500]
        session.add(r)
    was_good = [r for r in earlier if r.known_good_at is not None]
    audit.record(session, action="rollout.known_good_revoked", target=target, actor=actor, origin=origin,
                 before={"version": number, "known_good": bool(was_good)},
                 after={"version": number, "known_good": False, "rollback": rollback.id,
                        "rollouts": [r.id for r in earlier]}, reason=why, at=at)
    return earlier


def mark_converged(session: Session, reported: dict[tuple[int, int], str | None], now: datetime) -> list[Rollout]:
    """Note the first time each deployment's endpoint reports its current rollout's version.

    ``reported``: (model id, environment id) -> the version string the endpoint reported.
    """
    open_rollouts = session.exec(select(Rollout, ModelVersion.version)
                                 .join(ModelVersion, ModelVersion.id == Rollout.to_version_id)
                                 .where(Rollout.state == "succeeded", Rollout.ended_at.is_(None),
                                        Rollout.converged_at.is_(None))).all()
    changed = []
    for r, expected in open_rollouts:
        version = reported.get((r.model_id, r.environment_id))
        if version is not None and version.lstrip("v") == str(expected):
            r.converged_at = now
            session.add(r)
            changed.append(r)
    return changed


def converging_until(session: Session) -> dict[tuple[int, int], datetime]:
    """(model id, environment id) -> until when a version mismatch is still the endpoint catching up."""
    rows = session.exec(select(Rollout.model_id, Rollout.environment_id, Rollout.finished_at,
                               Environment.converge_seconds)
                        .join(Environment, Environment.id == Rollout.environment_id)
                        .where(Rollout.state == "succeeded", Rollout.ended_at.is_(None),
                               Rollout.converged_at.is_(None), Rollout.finished_at.is_not(None))).all()
    out: dict[tuple[int, int], Any] = {}
    for model_id, env_id, finished, seconds in rows:
        out[(model_id, env_id)] = finished + timedelta(seconds=seconds)
    return out
