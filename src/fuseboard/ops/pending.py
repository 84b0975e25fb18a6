"""Changes in flight: which process runs a pending rollout's hook, the refusal that names it, and
clearing by hand a change whose process crashed (``fuseboard changes clear``).

A pending rollout's ``hook_status`` says ``running: pid P on HOST`` until the outcome replaces it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import update
from sqlmodel import Session, select

from fuseboard.errors import Conflict, FuseboardError, Refused
from fuseboard.ops import audit, hooks
from fuseboard.store import lookup
from fuseboard.store.audit import host_name
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, Environment, ModelVersion, Rollout, RolloutState, utcnow

CLEAR_AFTER = timedelta(seconds=10)  # beyond the hook's deadline: ``clear_pending`` may settle it by hand


def running_here() -> str:
    """A pending rollout's ``hook_status``: which process runs its hook (replaced by the outcome)."""
    return f"running: pid {os.getpid()} on {host_name()}"


def runner(pending: Rollout) -> tuple[int | None, str | None]:
    found = re.fullmatch(r"running: pid (\d+) on (.+)", pending.hook_status or "")
    return (int(found[1]), found[2]) if found else (None, None)


def stale(pending: Rollout, e: Environment, now: datetime) -> tuple[bool, str]:
    """Whether a pending rollout may be cleared by hand, and why (or why not)."""
    deadline = pending.requested_at + timedelta(seconds=float(e.hook.get("timeout", hooks.DEFAULT_TIMEOUT)))
    pid, host = runner(pending)
    if now >= deadline + CLEAR_AFTER:
        return True, f"its hook's deadline passed at {deadline:%H:%M:%S} UTC"
    if pid is not None and host == host_name():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True, f"its process (pid {pid} on {host}) is gone"
        except PermissionError:
            pass
    where = f"pid {pid} on {host}" if pid is not None else "its process unknown"
    return False, f"{where} is still within its hook's deadline ({deadline:%H:%M:%S} UTC)"


def in_progress_error(s: Session, pending: Rollout, target: str, now: datetime) -> str:
    """The refusal for a change while another is pending: who, since when, where, and the way out."""
    to = s.get(ModelVersion, pending.to_version_id).version
    pid, host = runner(pending)
    model, env = target.split("/", 1)
    e = s.get(Environment, pending.environment_id)
    settled, _ = stale(pending, e, now)
    clear_from = pending.requested_at + timedelta(seconds=float(e.hook.get("timeout", hooks.DEFAULT_TIMEOUT))) \
        + CLEAR_AFTER
    when = "now" if settled else (f"once pid {pid} is gone or after {clear_from:%H:%M:%S} UTC" if pid is not None
                                else f"after {clear_from:%H:%M:%S} UTC")
    return (f"a change of {target} is already in progress since {pending.requested_at:%H:%M} UTC by "
            f"{pending.requested_by} ({pending.action} to v{to}"
            + (f"; pid {pid} on host {host}" if pid is not None else "") + "); wait for it, or if it crashed, "
            f"clear it with `fuseboard changes clear {model} --env {env} --reason TEXT` (allowed {when})")


class ClearedChange(TypedDict):
    """What ``clear_pending`` settled (``changes clear --json`` prints it as is)."""

    rollout: int  # the rollout now abandoned
    action: str
    to_version: int
    serving: int | None  # the version on record, which stays; None: nothing serves
    requested_by: str
    requested_at: str  # ISO 8601
    pid: int | None  # the process that ran its hook, when recorded
    host: str | None
    why: str  # why it could be cleared


def clear_pending(ws: Workspace, model: str, env: str, *, actor: str, origin: str, reason: str,
                  now: datetime | None = None) -> ClearedChange:
    """Settle by hand a pending change whose process crashed: the rollout becomes ``abandoned``.

    Allowed only when the process running its hook is gone (on this host) or the hook's deadline
    has passed; the version on record does not change. Audited as ``rollout.abandoned`` with who
    and why. Raises ``Refused`` when nothing is pending or the change may still be running.
    """
    if not reason.strip():
        raise FuseboardError("clearing a pending change needs a reason", field="reason")
    from fuseboard.ops.environments import access_denied, deny

    actor = audit.effective_actor(ws, actor)  # the environment's allow-list applies, as to the change itself
    why = access_denied(ws, env, actor)
    if why:
        deny(ws, env, actor, origin, why)
    now = now or utcnow()
    target = f"{model}/{env}"
    with ws.transaction() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)).first()
        pending = s.exec(select(Rollout).where(Rollout.model_id == m.id, Rollout.environment_id == e.id,
                                               Rollout.state == RolloutState.PENDING)
                         .order_by(Rollout.id.desc())).first()
        if pending is None:
            raise Refused(f"no change of {target} is pending; there is nothing to clear")
        clearable, why = stale(pending, e, now)
        if not clearable:
            raise Refused(f"the {pending.action} of {target} requested by {pending.requested_by} at "
                          f"{pending.requested_at:%H:%M} UTC may still be running ({why}); wait for it")
        pid, host = runner(pending)
        to = s.get(ModelVersion, pending.to_version_id).version
        cleared = s.exec(update(Rollout).where(Rollout.id == pending.id, Rollout.state == RolloutState.PENDING).values(
            state=RolloutState.ABANDONED, finished_at=now, hook_status=f"abandoned: cleared by {actor} ({why})"))
        if cleared.rowcount != 1:
            raise Conflict(f"the change of {target} finished meanwhile; nothing was cleared; look again")
        if dep is not None and dep.pending_rollout_id == pending.id:
            s.exec(update(Deployment).where(Deployment.id == dep.id).values(
                pending_rollout_id=None, revision=Deployment.revision + 1))
        serving = s.get(ModelVersion, dep.version_id).version if dep is not None else None
        info: ClearedChange = {
            "rollout": pending.id, "action": pending.action, "to_version": to, "serving": serving,
            "requested_by": pending.requested_by, "requested_at": pending.requested_at.isoformat(),
            "pid": pid, "host": host, "why": why}
        audit.record(s, action="rollout.abandoned", target=target, actor=actor, origin=origin,
                     before={"state": RolloutState.PENDING, **{k: info[k] for k in (
                         "rollout", "to_version", "requested_by", "pid", "host")}},
                     after={"state": RolloutState.ABANDONED, "rollout": pending.id, "version": serving, "why": why},
                     reason=reason, at=now)
    return info
