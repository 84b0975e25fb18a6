"""Planning a change: what a deploy, promotion or rollback would do (versions, gates, open alerts,
who is on call, a change already in flight), read in one session and changing nothing."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from fuseboard import http
from fuseboard.errors import FuseboardError, Refused
from fuseboard.ops import gates as gates_mod, hooks
from fuseboard.ops.deploy.known_good import _no_rollback_target, last_known_good
from fuseboard.ops.deploy.records import ACTIONS, ChangePlan
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Alert, Deployment, Environment, Model, ModelVersion, Person, Rollout,
                                    RolloutAction, RolloutState, Team, utcnow)


def _deployment(s: Session, m: Model, e: Environment) -> Deployment | None:
    return s.exec(select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)).first()


def on_call(s: Session, m: Model, now: datetime | None = None) -> str:
    """Who to call about this model: the owning team's on-call person now (from its rota), else its people."""
    from fuseboard.turns import on_call_line
    from fuseboard.store.models import Rota, RotaShift

    if m.owner_team_id is None:
        return "no owning team"
    now = now or utcnow()
    team = s.get(Team, m.owner_team_id)
    people = s.exec(select(Person).where(Person.team_id == team.id).order_by(Person.name)).all()
    rota = s.exec(select(Rota).where(Rota.team_id == team.id)).first()
    shifts = s.exec(select(RotaShift).where(RotaShift.team_id == team.id, RotaShift.ends_at > now)).all()
    return on_call_line(team.name, people, rota, shifts, now)


def _previous_env(s: Session, e: Environment) -> Environment | None:
    return s.exec(select(Environment).where(Environment.order < e.order).order_by(Environment.order.desc())).first()


def _next_env(s: Session, e: Environment) -> Environment | None:
    return s.exec(select(Environment).where(Environment.order > e.order).order_by(Environment.order)).first()


def _plan(s: Session, action: str, model: str, env: str, version: int | None, endpoint_url: str | None,
          now: datetime) -> tuple[ChangePlan, Model, Environment, Deployment | None, ModelVersion]:
    if action not in ACTIONS:
        raise FuseboardError(f"unknown change {action!r} ({', '.join(ACTIONS)})")
    action = RolloutAction(action)
    if endpoint_url:  # "" clears it
        from fuseboard.inputs import url

        url(endpoint_url, "endpoint")
        where = http.secret_in_url(endpoint_url)
        if where:  # the probe never sends them; stored, they would be shown and audited for good
            raise FuseboardError(f"the endpoint URL must not carry credentials (its {where}) (endpoint)")
    m = lookup.model(s, model)
    e = lookup.environment(s, env)
    dep = _deployment(s, m, e)
    current = s.get(ModelVersion, dep.version_id) if dep else None
    if version is not None:
        mv = lookup.version(s, m, version)
        # gates do not apply to a rollback, so into a protected environment it may only go back to
        # a version that served there before
        if action == RolloutAction.ROLLBACK and e.protected and not s.exec(select(Rollout.id).where(
                Rollout.model_id == m.id, Rollout.environment_id == e.id, Rollout.to_version_id == mv.id,
                Rollout.state == RolloutState.SUCCEEDED)).first():
            raise Refused(f"v{mv.version} of {m.name} never served in {e.name}, so it is not a rollback; "
                          f"deploy or promote it (gates apply in {e.name})")
        if action == RolloutAction.ROLLBACK and current is not None and mv.version > current.version:
            raise Refused(f"v{mv.version} is newer than v{current.version}, which serves {m.name} in {e.name}: a "
                          f"rollback never goes forward; deploy it with fuseboard deploy {m.name} {mv.version} "
                          f"--env {e.name}")
    elif action == RolloutAction.ROLLBACK:
        if dep is None:
            raise Refused(f"nothing of {m.name} runs in {e.name}; there is nothing to roll back")
        mv = last_known_good(s, m, e, dep.version_id)
        if mv is None:
            raise Refused(_no_rollback_target(s, m, e, current))
    elif action == RolloutAction.PROMOTE:
        source = _previous_env(s, e)
        if source is None:
            raise Refused(f"{e.name} is the first environment; nothing is promoted into it (deploy a version)")
        from_dep = _deployment(s, m, source)
        if from_dep is None:
            raise Refused(f"nothing of {m.name} runs in {source.name} to promote into {e.name}")
        mv = s.get(ModelVersion, from_dep.version_id)
    else:
        raise FuseboardError("a deploy needs a version")
    pending = s.get(Rollout, dep.pending_rollout_id) if dep and dep.pending_rollout_id else None
    alerts = s.exec(select(Alert).where(Alert.model_id == m.id, Alert.environment_id == e.id,
                                        Alert.state.in_(("firing", "acknowledged")))
                    .order_by(Alert.opened_at)).all()
    old_url = dep.endpoint_url if dep else ""
    plan = ChangePlan(
        action=action, model=m.name, environment=e.name, protected=e.protected, criticality=m.criticality,
        from_version=current.version if current else None, to_version=mv.version,
        revision=dep.revision if dep else None, from_endpoint=old_url,
        endpoint_url=old_url if endpoint_url is None else endpoint_url, hook=hooks.describe(e.hook),
        gates=[] if action == RolloutAction.ROLLBACK or (current is not None and current.id == mv.id)
        else gates_mod.evaluate(s, m, mv, e, now),
        open_alerts=[f"{a.severity} {a.check}: {a.summary}" for a in alerts], on_call=on_call(s, m),
        in_progress=(f"v{s.get(ModelVersion, pending.to_version_id).version} by {pending.requested_by} since "
                     f"{pending.requested_at:%H:%M} UTC") if pending else "",
        runbook=str((m.monitoring or {}).get("runbook", "")))
    return plan, m, e, dep, mv


def plan_change(ws: Workspace, model: str, env: str, *, action: str = "deploy", version: int | None = None,
                endpoint_url: str | None = None, now: datetime | None = None) -> ChangePlan:
    """What a change would do (for a confirmation), without doing it.

    ``version`` defaults, for a rollback, to the last known-good version in ``env`` and, for a
    promotion into ``env``, to the version serving in the environment before it.
    """
    with ws.session() as s:
        plan, m, e, dep, mv = _plan(s, action, model, env, version, endpoint_url, now or utcnow())
        if action == RolloutAction.ROLLBACK and plan.changes:
            from fuseboard.ops.incident import advice_for

            plan.advice = advice_for(s, m, e, dep, mv, now or utcnow()).line()
        return plan


def next_environment(ws: Workspace, env: str) -> str | None:
    with ws.session() as s:
        found = _next_env(s, lookup.environment(s, env))
        return found.name if found else None

