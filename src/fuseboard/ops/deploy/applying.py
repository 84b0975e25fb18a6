"""Applying a planned change: the request (one transaction: re-planned, checked, claimed, audited),
the environment's hook (outside any transaction), the outcome (one transaction, audited)."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from fuseboard import redact
from fuseboard.errors import Conflict, FuseboardError, Refused
from fuseboard.monitoring import outbox, rollouts
from fuseboard.ops import audit, hooks
from fuseboard.ops.deploy.planning import _plan, plan_change
from fuseboard.ops.deploy.records import STALE_AFTER, ChangePlan, ChangeResult, ChangeState
from fuseboard.ops.pending import in_progress_error, runner, running_here
from fuseboard.ops.registry import artifact_file
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, Rollout, RolloutAction, RolloutState, utcnow


def _refuse(ws: Workspace, plan: ChangePlan, actor: str, origin: str, why: str) -> None:
    with ws.transaction() as s:
        audit.record(s, action=f"{plan.action}.denied", target=f"{plan.model}/{plan.environment}", actor=actor,
                     origin=origin, after={"version": plan.to_version}, reason=why)
    raise Refused(why)


def apply(ws: Workspace, plan: ChangePlan, *, actor: str, origin: str, reason: str = "", override: bool = False,
          allow: dict[str, list[str]] | None = None, check_gates: bool = True, now: datetime | None = None,
          run_hook: hooks.RunHook = hooks.run, silence: bool = False) -> ChangeResult:
    """Carry out a planned change: request, hook, outcome (see the module's docstring).

    ``silence``: once the change succeeds, mute the deployment's alerts for the environment's
    convergence time (a silence of the change's own, ``source`` "deploy", in the outcome's transaction).

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
        raise FuseboardError("overriding gates needs a reason", field="reason")
    with ws.transaction() as s:
        fresh, m, e, dep, mv = _plan(s, plan.action, plan.model, plan.environment, plan.to_version,
                                     plan.endpoint_url, when)
        if fresh.revision != plan.revision or fresh.from_version != plan.from_version:
            raise Conflict(f"{target} changed under you: it now runs v{fresh.from_version}"
                           + (f" (changed by {dep.deployed_by} at {dep.deployed_at:%H:%M} UTC)" if dep else "")
                           + "; nothing was done; look again and retry")
        pending_id = dep.pending_rollout_id if dep is not None else s.exec(  # a first deploy in flight
            select(Rollout.id).where(Rollout.model_id == m.id, Rollout.environment_id == e.id,
                                     Rollout.state == RolloutState.PENDING)).first()
        if pending_id is not None:  # (before "unchanged": a rollback to the version on record is not a no-op then)
            pending = s.get(Rollout, pending_id)
            timeout = timedelta(seconds=float(e.hook.get("timeout", hooks.DEFAULT_TIMEOUT)))
            if when - pending.requested_at < timeout + STALE_AFTER:
                raise Refused(in_progress_error(s, pending, target, when))
            pid, host = runner(pending)
            pending.state, pending.finished_at = RolloutState.ABANDONED, when
            pending.hook_status = "abandoned: its process" + (f" (pid {pid} on {host})" if pid else "") + \
                " never reported back"
            s.add(pending)
            audit.record(s, action="rollout.abandoned", target=target, actor=actor, origin=origin,
                         after={"rollout": pending.id}, reason="its process never reported back", at=when)
        if not fresh.changes:
            return ChangeResult(fresh, ChangeState.UNCHANGED)
        if fresh.from_version == fresh.to_version:  # only the endpoint moves: a record, no hook
            s.exec(update(Deployment).where(Deployment.id == dep.id).values(
                endpoint_url=fresh.endpoint_url, revision=Deployment.revision + 1))
            audit.record(s, action="deployment.endpoint", target=target, actor=actor, origin=origin,
                         before={"endpoint_url": fresh.from_endpoint}, after={"endpoint_url": fresh.endpoint_url},
                         reason=reason, at=when)
            return ChangeResult(fresh, ChangeState.SUCCEEDED, hook_status="no hook")
        failing = [g.name for g in fresh.failing_gates] if check_gates else []
        if failing and not override:
            raise Refused(f"gates failing for {target}: " + "; ".join(f"{g.name}: {g.detail}"
                                                                    for g in fresh.failing_gates)
                          + " (fix them, or override with a reason)")
        # the hook hands the artifact to the serving system: only the bytes that were registered
        artifact = str(artifact_file(ws, mv)) if e.hook and mv.artifact_path else ""
        rollout = Rollout(model_id=m.id, environment_id=e.id, action=plan.action,
                          from_version_id=dep.version_id if dep else None, to_version_id=mv.id,
                          state=RolloutState.PENDING, requested_by=actor, requested_at=when, reason=reason,
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
    values: hooks.HookValues = {"model": plan.model, "version": plan.to_version, "artifact": artifact,
                                "env": plan.environment, "from_version": plan.from_version, "action": plan.action}
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
                   overridden=failing, started=when, now=now, silence=silence)


def _finish(ws: Workspace, plan: ChangePlan, rollout_id: int, env_id: int, result: hooks.HookResult, *,
            actor: str, origin: str, reason: str, overridden: list[str], started: datetime,
            now: datetime | None, silence: bool = False) -> ChangeResult:
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
        settled = s.exec(update(Rollout).where(Rollout.id == rollout_id, Rollout.state == RolloutState.PENDING).values(
            state=RolloutState.SUCCEEDED if result.ok else RolloutState.FAILED, finished_at=done,
            hook_status=result.status, hook_output=result.output))
        rollout = s.get(Rollout, rollout_id)
        if settled.rowcount != 1:
            audit.record(s, action=f"{plan.action}.late", target=target, actor=actor, origin=origin,
                         before={"state": rollout.state}, after={
                             "rollout": rollout_id, "wanted": plan.to_version, "hook": result.status},
                         reason="the hook answered after its rollout had been settled; nothing changed", at=done)
            return ChangeResult(plan, ChangeState.LATE, rollout_id, result.status, result.output, overridden,
                                settled_as=rollout.state)
        m = lookup.model(s, plan.model)
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id,
                                              Deployment.environment_id == env_id)).first()
        if result.ok:
            for earlier in s.exec(select(Rollout).where(Rollout.model_id == m.id, Rollout.environment_id == env_id,
                                                        Rollout.state == RolloutState.SUCCEEDED,
                                                        Rollout.ended_at.is_(None), Rollout.id != rollout.id)):
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
            outbox.change_event(s, action=plan.action, outcome="succeeded", model=m, environment=plan.environment,
                                from_version=plan.from_version, to_version=plan.to_version, actor=actor,
                                reason=reason, rollout=rollout.id, hook=result.status, at=done)
            if silence:
                _converging_silence(s, m.id, env_id, plan, actor=actor, origin=origin, at=done)
            if plan.action == RolloutAction.ROLLBACK:  # the version it left is no longer known-good here
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
            outbox.change_event(s, action=plan.action, outcome="failed", model=m, environment=plan.environment,
                                from_version=plan.from_version, to_version=plan.to_version, actor=actor,
                                reason=reason, rollout=rollout.id, hook=result.status, at=done)
        try:
            s.flush()
        except IntegrityError:  # two first deploys of the same model into the same environment
            raise Conflict(f"{target} was deployed by someone else at the same moment; look again and retry") from None
    return ChangeResult(plan, ChangeState(rollout.state), rollout_id, result.status, result.output, overridden)


def _converging_silence(s: Any, model_id: int, env_id: int, plan: ChangePlan, *, actor: str, origin: str,
                        at: datetime) -> None:
    """A change's own silence: the deployment's alerts muted while the endpoint converges."""
    from fuseboard.store.models import Environment, Silence

    seconds = max(60, s.get(Environment, env_id).converge_seconds or 0)
    item = Silence(model_id=model_id, environment_id=env_id, check=None, author=actor, source="deploy",
                   comment=f"{plan.action} to v{plan.to_version}: converging", starts_at=at,
                   ends_at=at + timedelta(seconds=seconds))
    s.add(item)
    s.flush()
    audit.record(s, action="alert.silence", target=f"{plan.model}/{plan.environment}", actor=actor, origin=origin,
                 after={"check": "all", "from": at.isoformat(), "until": item.ends_at.isoformat(), "silence": item.id,
                        "source": "deploy"}, reason=item.comment, at=at)
    outbox.sync_alerts(s, at, deployments={(model_id, env_id)})


# -- conveniences --------------------------------------------------------------------------

def change(ws: Workspace, model: str, env: str, *, action: str = "deploy", version: int | None = None,
           actor: str, origin: str, reason: str = "", endpoint_url: str | None = None, override: bool = False,
           allow: dict[str, list[str]] | None = None, check_gates: bool = True, now: datetime | None = None,
           run_hook: hooks.RunHook = hooks.run) -> ChangeResult:
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

