"""Environment settings: protection, soak and convergence times, and the deploy hook (audited)."""

from __future__ import annotations

from typing import Any

from fuseboard.errors import FuseboardError, Refused
from fuseboard.ops import audit, hooks
from fuseboard.store import lookup
from fuseboard.store.db import Workspace


def configure(ws: Workspace, env: str, *, actor: str, origin: str, reason: str = "", hook: dict[str, Any] | None = None,
              soak_seconds: int | None = None, converge_seconds: int | None = None,
              protected: bool | None = None, allow: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Change an environment's settings; ``hook={}`` removes the hook. Returns the settings after.

    ``allow``: the environments' allow-lists; a user not on this environment's list is refused
    (audited), as for deploys: its hook and protection decide what every deploy there does.
    """
    allowed = (allow or {}).get(env)
    if allowed is not None and actor not in allowed:
        why = (f"{actor} may not change {env} (allowed: {', '.join(allowed) or 'nobody'}; "
               f"[environments.{env}] allow in the config)")
        with ws.transaction() as s:
            audit.record(s, action="environment.denied", target=env, actor=actor, origin=origin, reason=why)
        raise Refused(why)
    checked = hooks.validate(hook) if hook is not None else None
    for name, value in (("soak", soak_seconds), ("converge", converge_seconds)):
        if value is not None and not 0 <= value <= 30 * 86400:
            raise FuseboardError(f"--{name} must be between 0 and 30 days")
    with ws.transaction() as s:
        e = lookup.environment(s, env)
        before = {"protected": e.protected, "soak_seconds": e.soak_seconds, "converge_seconds": e.converge_seconds,
                  "hook": e.hook}
        if checked is not None:
            e.hook = checked
        if soak_seconds is not None:
            e.soak_seconds = soak_seconds
        if converge_seconds is not None:
            e.converge_seconds = converge_seconds
        if protected is not None:
            e.protected = protected
        after = {"protected": e.protected, "soak_seconds": e.soak_seconds, "converge_seconds": e.converge_seconds,
                 "hook": e.hook}
        if after != before:
            s.add(e)
            audit.record(s, action="environment.settings", target=e.name, actor=actor, origin=origin,
                         before={k: v for k, v in before.items() if after[k] != v},
                         after={k: v for k, v in after.items() if before[k] != v}, reason=reason)
    return after
