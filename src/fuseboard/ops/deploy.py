"""Changing which version serves where: deploy, promote and rollback, through the environment's hook.

Every change goes the same way:

1. **request** (one transaction): the deployment must still be at the revision the user
   looked at (else ``Conflict``: someone changed it under them), no other change may be in
   flight, the user must be allowed to change the environment, and a change into a
   protected environment must pass its gates (or be overridden with a reason). A pending
   rollout is recorded and audited.
2. **hook**: the environment's command or webhook runs, outside any transaction.
3. **outcome** (one transaction): only if the hook succeeded does the new version become
   the one recorded as serving; otherwise the old one stays, and the rollout keeps the
   failure and its output. Both are audited.

The serving system then has to follow: the health probe checks the endpoint reports the
new version (``wait_converged`` here; the monitor raises a mismatch alert after the
environment's convergence time). A retry is a new change of the same kind.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fuseboard import http, redact
from fuseboard.errors import Conflict, FuseboardError, Refused
from fuseboard.monitoring import rollouts
from fuseboard.ops import audit, gates as gates_mod, hooks
from fuseboard.ops.pending import in_progress_error, runner, running_here
from fuseboard.ops.registry import artifact_file
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Alert, Deployment, Environment, Model, ModelVersion, Person, Rollout, Team,
                                    utcnow)

ACTIONS = ("deploy", "promote", "rollback")
STALE_AFTER = timedelta(seconds=60)  # beyond the hook's timeout: a pending change whose process died


@dataclass
class ChangePlan:
    """What a change would do, as shown in a confirmation; ``apply`` re-checks all of it."""

    action: str
    model: str
    environment: str
    protected: bool
    criticality: str
    from_version: int | None
    to_version: int
    revision: int | None  # the deployment's revision when planned (None: nothing deployed yet)
    from_endpoint: str = ""
    endpoint_url: str = ""
    hook: str = ""
    gates: list[gates_mod.Gate] = field(default_factory=list)
    open_alerts: list[str] = field(default_factory=list)
    on_call: str = ""
    in_progress: str = ""
    runbook: str = ""  # the model's runbook (a URL or text; ``monitoring set --runbook``)
    advice: str = ""  # a rollback's "will it help" line (ops.incident.rollback_advice), when planned

    @property
    def changes(self) -> bool:
        return self.from_version != self.to_version or self.from_endpoint != self.endpoint_url

    @property
    def failing_gates(self) -> list[gates_mod.Gate]:
        return [g for g in self.gates if not g.ok]

    @property
    def typed_confirmation(self) -> bool:
        """Mission-critical in a protected environment: the user types the model's name and a reason."""
        return self.protected and self.criticality == "mission-critical"

    def describe(self) -> str:
        was = f"v{self.from_version}" if self.from_version is not None else "nothing"
        text = f"{self.model} in {self.environment}: {was} -> v{self.to_version}"
        if self.endpoint_url != self.from_endpoint:
            text += f", endpoint {self.from_endpoint or '-'} -> {self.endpoint_url or '-'}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "model": self.model, "environment": self.environment,
                "protected": self.protected, "criticality": self.criticality, "from_version": self.from_version,
                "to_version": self.to_version, "endpoint_url": self.endpoint_url, "changed": self.changes,
                "hook": self.hook, "gates": [g.as_dict() for g in self.gates], "open_alerts": self.open_alerts,
                "on_call": self.on_call, "runbook": self.runbook,
                **({"rollback_advice": self.advice} if self.advice else {})}


@dataclass
class ChangeResult:
    plan: ChangePlan
    state: str  # succeeded, failed or unchanged
    rollout_id: int | None = None
    hook_status: str = ""
    hook_output: str = ""
    overridden: list[str] = field(default_factory=list)
    settled_as: str = ""  # state "late": what the rollout had become before the hook answered

    @property
    def ok(self) -> bool:
        return self.state in ("succeeded", "unchanged")

    def message(self) -> str:
        p = self.plan
        if self.state == "late":
            return (f"{p.action} of {p.model} v{p.to_version} in {p.environment}: its rollout was {self.settled_as} "
                    f"before the hook answered ({self.hook_status}), so nothing changed on record; the serving "
                    "system may have followed the hook anyway: check what the endpoint reports")
        if self.state == "unchanged":
            return f"unchanged: {p.model} v{p.to_version} already runs in {p.environment}"
        if self.state == "succeeded" and p.from_version == p.to_version:
            return f"endpoint of {p.model} in {p.environment}: {p.from_endpoint or '-'} -> {p.endpoint_url or '-'}"
        if self.state == "succeeded":
            via = "" if self.hook_status in ("", "no hook") else f" (hook: {self.hook_status})"
            return f"{p.action} done: {p.model} in {p.environment} now runs v{p.to_version}{via}"
        return (f"{p.action} FAILED: the hook said {self.hook_status}; {p.model} in {p.environment} still runs "
                f"v{p.from_version}" if p.from_version is not None else
                f"{p.action} FAILED: the hook said {self.hook_status}; nothing runs in {p.environment}")

    def as_dict(self) -> dict[str, Any]:
        out = {**self.plan.as_dict(), "state": self.state, "rollout": self.rollout_id,
               "hook_status": self.hook_status, "hook_output": self.hook_output, "overridden_gates": self.overridden}
        if self.settled_as:
            out["settled_as"] = self.settled_as
        return out


# -- planning ------------------------------------------------------------------------------

def _deployment(s: Session, m: Model, e: Environment) -> Deployment | None:
    return s.exec(select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)).first()


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
                  .where(Rollout.model_id == m.id, Rollout.environment_id == e.id, Rollout.state == "succeeded",
                         ModelVersion.version != current.version)
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


def on_call(s: Session, m: Model, now: datetime | None = None) -> str:
    """Who to call about this model: the owning team's on-call person now (from its rota), else its people."""
    from fuseboard.ops.turns import on_call_line
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
        if action == "rollback" and e.protected and not s.exec(select(Rollout.id).where(
                Rollout.model_id == m.id, Rollout.environment_id == e.id, Rollout.to_version_id == mv.id,
                Rollout.state == "succeeded")).first():
            raise Refused(f"v{mv.version} of {m.name} never served in {e.name}, so it is not a rollback; "
                          f"deploy or promote it (gates apply in {e.name})")
        if action == "rollback" and current is not None and mv.version > current.version:
            raise Refused(f"v{mv.version} is newer than v{current.version}, which serves {m.name} in {e.name}: a "
                          f"rollback never goes forward; deploy it with fuseboard deploy {m.name} {mv.version} "
                          f"--env {e.name}")
    elif action == "rollback":
        if dep is None:
            raise Refused(f"nothing of {m.name} runs in {e.name}; there is nothing to roll back")
        mv = last_known_good(s, m, e, dep.version_id)
        if mv is None:
            raise Refused(_no_rollback_target(s, m, e, current))
    elif action == "promote":
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
        gates=[] if action == "rollback" or (current is not None and current.id == mv.id)
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
        if action == "rollback" and plan.changes:
            from fuseboard.ops.incident import advice_for

            plan.advice = advice_for(s, m, e, dep, mv, now or utcnow()).line()
        return plan


def next_environment(ws: Workspace, env: str) -> str | None:
    with ws.session() as s:
        found = _next_env(s, lookup.environment(s, env))
        return found.name if found else None


# -- applying ------------------------------------------------------------------------------

def _refuse(ws: Workspace, plan: ChangePlan, actor: str, origin: str, why: str) -> None:
    with ws.transaction() as s:
        audit.record(s, action=f"{plan.action}.denied", target=f"{plan.model}/{plan.environment}", actor=actor,
                     origin=origin, after={"version": plan.to_version}, reason=why)
    raise Refused(why)


def apply(ws: Workspace, plan: ChangePlan, *, actor: str, origin: str, reason: str = "", override: bool = False,
          allow: dict[str, list[str]] | None = None, check_gates: bool = True, now: datetime | None = None,
          run_hook: Callable[[dict[str, Any], dict[str, Any]], hooks.HookResult] = hooks.run) -> ChangeResult:
    """Carry out a planned change: request, hook, outcome (see the module's docstring).

    Raises ``Conflict`` when the deployment changed since ``plan`` was made, ``Refused`` when a
    change is in flight, the user is not on the environment's allow-list (kept in the workspace;
    ``allow``: the config file's old lists, see ``environments.access_denied``), or gates fail
    without ``override``. A failing hook is not an exception: the result says ``failed``.
    """
    when = now or utcnow()
    target = f"{plan.model}/{plan.environment}"
    from fuseboard.ops.environments import access_denied

    actor = audit.effective_actor(ws, actor)  # the OS login unless the workspace allows overrides
    why = access_denied(ws, plan.environment, actor, legacy=allow)
    if why:
        _refuse(ws, plan, actor, origin, why)
    if override and not reason.strip():
        raise FuseboardError("overriding gates needs a reason (--reason)")
    with ws.transaction() as s:
        fresh, m, e, dep, mv = _plan(s, plan.action, plan.model, plan.environment, plan.to_version,
                                     plan.endpoint_url, when)
        if fresh.revision != plan.revision or fresh.from_version != plan.from_version:
            raise Conflict(f"{target} changed under you: it now runs v{fresh.from_version}"
                           + (f" (changed by {dep.deployed_by} at {dep.deployed_at:%H:%M} UTC)" if dep else "")
                           + "; nothing was done; look again and retry")
        pending_id = dep.pending_rollout_id if dep is not None else s.exec(  # a first deploy in flight
            select(Rollout.id).where(Rollout.model_id == m.id, Rollout.environment_id == e.id,
                                     Rollout.state == "pending")).first()
        if pending_id is not None:  # (before "unchanged": a rollback to the version on record is not a no-op then)
            pending = s.get(Rollout, pending_id)
            timeout = timedelta(seconds=float(e.hook.get("timeout", hooks.DEFAULT_TIMEOUT)))
            if when - pending.requested_at < timeout + STALE_AFTER:
                raise Refused(in_progress_error(s, pending, target, when))
            pid, host = runner(pending)
            pending.state, pending.finished_at = "abandoned", when
            pending.hook_status = "abandoned: its process" + (f" (pid {pid} on {host})" if pid else "") + \
                " never reported back"
            s.add(pending)
            audit.record(s, action="rollout.abandoned", target=target, actor=actor, origin=origin,
                         after={"rollout": pending.id}, reason="its process never reported back", at=when)
        if not fresh.changes:
            return ChangeResult(fresh, "unchanged")
        if fresh.from_version == fresh.to_version:  # only the endpoint moves: a record, no hook
            s.exec(update(Deployment).where(Deployment.id == dep.id).values(
                endpoint_url=fresh.endpoint_url, revision=Deployment.revision + 1))
            audit.record(s, action="deployment.endpoint", target=target, actor=actor, origin=origin,
                         before={"endpoint_url": fresh.from_endpoint}, after={"endpoint_url": fresh.endpoint_url},
                         reason=reason, at=when)
            return ChangeResult(fresh, "succeeded", hook_status="no hook")
        failing = [g.name for g in fresh.failing_gates] if check_gates else []
        if failing and not override:
            raise Refused(f"gates failing for {target}: " + "; ".join(f"{g.name}: {g.detail}"
                                                                    for g in fresh.failing_gates)
                          + " (fix them, or override with a reason)")
        # the hook hands the artifact to the serving system: only the bytes that were registered
        artifact = str(artifact_file(ws, mv)) if e.hook and mv.artifact_path else ""
        rollout = Rollout(model_id=m.id, environment_id=e.id, action=plan.action,
                          from_version_id=dep.version_id if dep else None, to_version_id=mv.id, state="pending",
                          requested_by=actor, requested_at=when, reason=reason,
                          hook=hooks.describe(e.hook) if e.hook else "", hook_status=running_here())
        s.add(rollout)
        s.flush()
        if dep is not None:  # claim the deployment: conditional on the revision we saw
            claimed = s.exec(update(Deployment).where(Deployment.id == dep.id,
                                                      Deployment.revision == plan.revision)
                             .values(pending_rollout_id=rollout.id, revision=Deployment.revision + 1))
            if claimed.rowcount != 1:
                raise Conflict(f"{target} changed under you; nothing was done; look again and retry")
        if failing:
            audit.record(s, action="gate.override", target=target, actor=actor, origin=origin,
                         after={"version": mv.version, "gates": failing}, reason=reason, at=when)
        audit.record(s, action=f"{plan.action}.start", target=target, actor=actor, origin=origin,
                     before={"version": fresh.from_version}, after={"version": mv.version, "rollout": rollout.id,
                                                                     "hook": rollout.hook}, reason=reason, at=when)
        rollout_id, hook, env_id = rollout.id, dict(e.hook), e.id
    values = {"model": plan.model, "version": plan.to_version, "artifact": artifact, "env": plan.environment,
              "from_version": plan.from_version, "action": plan.action}
    began = time.monotonic()
    try:
        result = run_hook(hook, values)
    except BaseException as exc:  # fuseboard itself failed (or ctrl+c): the rollout never stays pending
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):  # (if even that fails, reconcile settles it later)
            _finish(ws, fresh, rollout_id, env_id, hooks.HookResult(
                False, f"fuseboard failed while the hook ran ({why[:200]}); what the hook did is unknown", "", "",
                time.monotonic() - began), actor=actor, origin=origin, reason=reason, overridden=failing,
                started=when, now=now)
        raise
    return _finish(ws, fresh, rollout_id, env_id, result, actor=actor, origin=origin, reason=reason,
                   overridden=failing, started=when, now=now)


def _finish(ws: Workspace, plan: ChangePlan, rollout_id: int, env_id: int, result: hooks.HookResult, *,
            actor: str, origin: str, reason: str, overridden: list[str], started: datetime,
            now: datetime | None) -> ChangeResult:
    done = now or utcnow()
    if now is not None:  # a back-dated change (the demo's history) still finishes after it started
        done = started + timedelta(seconds=result.seconds)
    target = f"{plan.model}/{plan.environment}"
    secrets = [ws.engine.url.password]  # the workspace's own database password, besides the usual ones
    result = hooks.HookResult(result.ok, redact.mask(result.status, secrets), redact.mask(result.output, secrets),
                              result.ran, result.seconds)
    with ws.transaction() as s:
        # only a rollout still pending is completed: one cleared or abandoned meanwhile stays so, and a
        # later change it no longer blocks keeps what it recorded
        settled = s.exec(update(Rollout).where(Rollout.id == rollout_id, Rollout.state == "pending").values(
            state="succeeded" if result.ok else "failed", finished_at=done, hook_status=result.status,
            hook_output=result.output))
        rollout = s.get(Rollout, rollout_id)
        if settled.rowcount != 1:
            audit.record(s, action=f"{plan.action}.late", target=target, actor=actor, origin=origin,
                         before={"state": rollout.state}, after={
                             "rollout": rollout_id, "wanted": plan.to_version, "hook": result.status},
                         reason="the hook answered after its rollout had been settled; nothing changed", at=done)
            return ChangeResult(plan, "late", rollout_id, result.status, result.output, overridden,
                                settled_as=rollout.state)
        m = lookup.model(s, plan.model)
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id,
                                              Deployment.environment_id == env_id)).first()
        if result.ok:
            for earlier in s.exec(select(Rollout).where(Rollout.model_id == m.id, Rollout.environment_id == env_id,
                                                        Rollout.state == "succeeded", Rollout.ended_at.is_(None),
                                                        Rollout.id != rollout.id)):
                earlier.ended_at = done
                s.add(earlier)
            if dep is None:
                dep = Deployment(model_id=m.id, environment_id=env_id, version_id=rollout.to_version_id,
                                 endpoint_url=plan.endpoint_url, deployed_by=actor, deployed_at=done)
            else:
                dep.version_id, dep.endpoint_url, dep.deployed_by, dep.deployed_at = (
                    rollout.to_version_id, plan.endpoint_url, actor, done)
                dep.revision += 1
                dep.pending_rollout_id = None
            s.add(dep)
            audit.record(s, action=plan.action, target=target, actor=actor, origin=origin,
                         before={"version": plan.from_version, "endpoint_url": plan.from_endpoint},
                         after={"version": plan.to_version, "endpoint_url": plan.endpoint_url, "rollout": rollout.id,
                                "hook": result.status}, reason=reason, at=done)
            if plan.action == "rollback":  # the version it left is no longer known-good here
                rollouts.revoke_rolled_back_from(s, rollout, target=target, actor=actor, origin=origin,
                                                 reason=reason, at=done)
        else:
            if dep is not None and dep.pending_rollout_id == rollout.id:
                dep.pending_rollout_id = None
                dep.revision += 1
                s.add(dep)
            audit.record(s, action=f"{plan.action}.failed", target=target, actor=actor, origin=origin,
                         before={"version": plan.from_version}, after={
                             "version": plan.from_version, "wanted": plan.to_version, "rollout": rollout.id,
                             "hook": result.status, "output": result.output[-2000:]}, reason=reason, at=done)
        try:
            s.flush()
        except IntegrityError:  # two first deploys of the same model into the same environment
            raise Conflict(f"{target} was deployed by someone else at the same moment; look again and retry") from None
    return ChangeResult(plan, rollout.state, rollout_id, result.status, result.output, overridden)


# -- conveniences --------------------------------------------------------------------------

def change(ws: Workspace, model: str, env: str, *, action: str = "deploy", version: int | None = None,
           actor: str, origin: str, reason: str = "", endpoint_url: str | None = None, override: bool = False,
           allow: dict[str, list[str]] | None = None, check_gates: bool = True, now: datetime | None = None,
           run_hook: Callable[[dict[str, Any], dict[str, Any]], hooks.HookResult] = hooks.run) -> ChangeResult:
    """Plan and apply in one go (headless callers that already confirmed)."""
    plan = plan_change(ws, model, env, action=action, version=version, endpoint_url=endpoint_url, now=now)
    return apply(ws, plan, actor=actor, origin=origin, reason=reason, override=override, allow=allow,
                 check_gates=check_gates, now=now, run_hook=run_hook)


def deploy(ws: Workspace, model: str, version: int, env: str, *, actor: str, origin: str, reason: str = "",
           endpoint_url: str | None = None, now: datetime | None = None, check_gates: bool = True,
           override: bool = False) -> ChangeResult:
    """Put ``version`` of ``model`` into ``env`` (through its hook and, if protected, its gates)."""
    return change(ws, model, env, action="deploy", version=version, actor=actor, origin=origin, reason=reason,
                  endpoint_url=endpoint_url, now=now, check_gates=check_gates, override=override)


@dataclass
class Convergence:
    ok: bool
    expected: int
    reported: str | None
    seconds: float
    detail: str
    probed: bool = True  # False: no endpoint recorded, nothing to ask


def _probe_settings(m: Model) -> tuple[str, float, int]:
    """The model's own probe path, timeout and expected status (``monitoring set``)."""
    from fuseboard.monitoring.settings import policy_for

    policy = policy_for(m.monitoring or {})
    return policy.probe_path, float(policy.probe_timeout), int(policy.expected_status)


def _as_version(reported: str) -> str:
    number = reported.lstrip("v")
    return f"v{number}" if number.isdigit() else f"version {reported!r}"


def wait_converged(ws: Workspace, model: str, env: str, *, timeout: float = 30.0,
                   interval: float = 1.0) -> Convergence:
    """Probe the deployment's endpoint (with the model's probe settings) until it reports the
    recorded version, or ``timeout`` passes."""
    from fuseboard.monitoring.checks import probe

    start = time.monotonic()
    with ws.session() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        dep = _deployment(s, m, e)
        if dep is None:
            raise FuseboardError(f"nothing of {model} runs in {env}")
        expected = s.get(ModelVersion, dep.version_id).version
        url = dep.endpoint_url
        path, probe_timeout, status = _probe_settings(m)
    if not url:
        return Convergence(False, expected, None, 0.0, "no endpoint recorded; cannot confirm what it serves",
                           probed=False)
    reported: str | None = None
    while True:
        left = timeout - (time.monotonic() - start)
        result = probe(url, path, timeout=max(0.5, min(probe_timeout, left)), expected_status=status)
        reported = result.version
        if result.up and reported is not None and reported.lstrip("v") == str(expected):
            with ws.transaction() as s:
                rollouts.mark_converged(s, {(m.id, e.id): reported}, utcnow())
            return Convergence(True, expected, reported, time.monotonic() - start,
                               f"endpoint reports v{expected}")
        if time.monotonic() - start + interval > timeout:
            what = f"it reports {_as_version(reported)}" if reported is not None else (
                f"it is down ({result.error or f'HTTP {result.status_code}'})" if not result.up
                else "it reports no version")
            return Convergence(False, expected, reported, time.monotonic() - start,
                               f"the endpoint did not report v{expected} within {timeout:g} s; {what} "
                               f"({url.rstrip('/')}{path}); the monitor opens a version-mismatch alert if it does "
                               "not converge")
        time.sleep(interval)


def reconcile(ws: Workspace, *, now: datetime | None = None) -> list[ChangeResult]:
    """Settle the changes whose process died while their hook ran (``kill -9``, a lost SSH session).

    A pending rollout older than its hook's timeout (plus a minute) is finished from what the
    endpoint reports: the new version -> succeeded (the hook got through); anything else, or no
    endpoint -> failed, and the previous version stays recorded as serving. Never recorded as
    done when it was not. Audited as origin ``monitor``; safe to run from any process, any time.
    """
    from fuseboard.monitoring.checks import probe

    now = now or utcnow()
    with ws.session() as s:
        stale = []
        for r in s.exec(select(Rollout).where(Rollout.state == "pending")):
            e = s.get(Environment, r.environment_id)
            timeout = timedelta(seconds=float(e.hook.get("timeout", hooks.DEFAULT_TIMEOUT)))
            if now - r.requested_at < timeout + STALE_AFTER:
                continue
            m = s.get(Model, r.model_id)
            dep = _deployment(s, m, e)
            to = s.get(ModelVersion, r.to_version_id).version
            was = s.get(ModelVersion, r.from_version_id).version if r.from_version_id else None
            url = dep.endpoint_url if dep else ""
            plan = ChangePlan(action=r.action, model=m.name, environment=e.name, protected=e.protected,
                              criticality=m.criticality, from_version=was, to_version=to,
                              revision=dep.revision if dep else None, from_endpoint=url, endpoint_url=url)
            stale.append((r.id, e.id, plan, r.requested_at, url, _probe_settings(m)))
    results = []
    for rollout_id, env_id, plan, requested_at, url, (path, probe_timeout, status) in stale:
        reported = probe(url, path, timeout=probe_timeout, expected_status=status).version if url else None
        if reported is not None and reported.lstrip("v") == str(plan.to_version):
            outcome = hooks.HookResult(True, f"reconciled: the process running the hook stopped; the endpoint "
                                             f"reports v{plan.to_version}", "", "", 0.0)
        else:
            seen = f"the endpoint reports {reported}" if reported is not None else (
                "no endpoint to ask" if not url else "the endpoint reports no version")
            outcome = hooks.HookResult(False, f"abandoned: the process running the hook stopped; {seen}", "", "",
                                       0.0)
        with ws.session() as s:  # another process may have settled it meanwhile (_finish checks again)
            if s.get(Rollout, rollout_id).state != "pending":
                continue
        settled = _finish(ws, plan, rollout_id, env_id, outcome, actor="monitor", origin="monitor",
                          reason="reconciled after the requesting process stopped", overridden=[],
                          started=requested_at, now=None)
        if settled.state != "late":
            results.append(settled)
    return results
