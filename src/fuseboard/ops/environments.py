"""Environment settings: protection, soak and convergence times, and the deploy hook (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Sequence, TypedDict, cast

from sqlmodel import select

from fuseboard.errors import FuseboardError, Refused
from fuseboard.ops import audit, hooks
from fuseboard.store import lookup
from fuseboard.store.audit import allow_override
from fuseboard.store.db import Workspace
from fuseboard.store.models import Environment, WorkspaceSetting


def access_denied(ws: Workspace, env: str, actor: str, *, legacy: dict[str, list[str]] | None = None) -> str:
    """Why ``actor`` may not change ``env`` (empty when they may). The allow-list lives in the workspace
    and changes only through `fuseboard envs allow` (audited). ``legacy``: the lists the config file
    used to hold (``[environments.ENV] allow``); one still there for ``env`` refuses the change with
    the command that moves it into the workspace, so nobody believes an old list still applies."""
    with ws.session() as s:
        e = lookup.environment(s, env)
        allowed = e.allow
    if legacy and env in legacy:
        users = ",".join(legacy[env]) or "NAME"
        now = f"the workspace's list is {', '.join(allowed) or 'empty'}" if allowed is not None else \
            "the workspace has none"
        return (f"[environments.{env}] allow in the config file is no longer read ({now}): allow-lists live in "
                f"the workspace; run `fuseboard envs allow {env} --users {users} --reason ... --yes` and delete "
                "the key from the config file")
    if allowed is not None and actor not in allowed:
        return (f"{actor} may not change {env} (allowed: {', '.join(allowed) or 'nobody'}; "
                f"`fuseboard envs allow`){audit.ignored_override(ws)}")
    return ""


def deny(ws: Workspace, env: str, actor: str, origin: str, why: str) -> None:
    with ws.transaction() as s:
        audit.record(s, action="environment.denied", target=env, actor=actor, origin=origin, reason=why)
    raise Refused(why)


def set_allow(ws: Workspace, env: str, users: Sequence[str] | None, *, actor: str, origin: str,
              reason: str = "") -> list[str] | None:
    """Set who may change ``env`` (``None``: anyone). Audited; only someone on the current list may
    change it (anyone, when there is none). Returns the list after."""
    actor = audit.effective_actor(ws, actor)
    if users is not None:
        bad = [u for u in users if not u or len(u) > 64 or any(c.isspace() or c == "," or not c.isprintable()
                                                               for c in u)]
        if bad or len(set(users)) != len(users):
            raise FuseboardError(f"the users must be distinct login names separated by commas, not {bad[0]!r}"
                                 if bad else "the users list someone twice", field="users")
        users = list(users)
    why = access_denied(ws, env, actor)
    if why:
        deny(ws, env, actor, origin, why)
    with ws.transaction() as s:
        e = lookup.environment(s, env)
        before = e.allow
        if before != users:
            e.allow = users
            s.add(e)
            audit.record(s, action="environment.allow", target=e.name, actor=actor, origin=origin,
                         before={"allow": before}, after={"allow": users}, reason=reason)
    return users


def identity_override(ws: Workspace) -> bool:
    """Whether the workspace lets ``FUSEBOARD_USER`` name the user (else the OS login is who acts)."""
    with ws.session() as s:
        row = s.get(WorkspaceSetting, "identity_override")
        return bool(row is not None and row.value)


def set_identity_override(ws: Workspace, allowed: bool, *, actor: str, origin: str, reason: str = "") -> bool:
    """Let ``FUSEBOARD_USER`` name the user in this workspace, or stop it (audited). Turning it on while
    environments have allow-lists needs someone on every one of them: it lets anyone claim any name."""
    actor = audit.effective_actor(ws, actor)
    with ws.session() as s:
        lists = {e.name: e.allow for e in s.exec(select(Environment)) if e.allow is not None}
    if allowed:
        outside = sorted(name for name, users in lists.items() if actor not in users)
        if outside:
            why = (f"{actor} may not allow identity overrides: they would let anyone act as anyone in "
                   f"{', '.join(outside)}, whose allow-list does not name {actor}")
            with ws.transaction() as s:
                audit.record(s, action="workspace.denied", target="identity_override", actor=actor, origin=origin,
                             reason=why)
            raise Refused(why)
    with ws.transaction() as s:
        row = s.get(WorkspaceSetting, "identity_override")
        before = bool(row is not None and row.value)
        if before != allowed:
            s.add(WorkspaceSetting(name="identity_override", value=allowed) if row is None else row)
            if row is not None:
                row.value = allowed
            audit.record(s, action="workspace.identity", target="identity_override", actor=actor, origin=origin,
                         before={"identity_override": before}, after={"identity_override": allowed}, reason=reason)
    ws.identity_override = allowed
    allow_override(allowed)
    return allowed


class EnvironmentSettings(TypedDict):
    """What ``configure`` changes and returns (``envs set --json`` prints it after the name)."""

    protected: bool
    soak_seconds: int
    converge_seconds: int
    hook: hooks.HookConfig  # as it may be shown (``hooks.shown``)


def configure(ws: Workspace, env: str, *, actor: str, origin: str, reason: str = "",
              hook: Mapping[str, object] | None = None, soak_seconds: int | None = None,
              converge_seconds: int | None = None, protected: bool | None = None,
              allow: dict[str, list[str]] | None = None) -> EnvironmentSettings:
    """Change an environment's settings; ``hook`` (as given, ``validate`` checks it) ``{}`` removes the hook.
    Returns the settings after.

    A user not on the environment's allow-list is refused (audited), as for deploys: its hook and
    protection decide what every deploy there does. ``allow``: the config file's old allow-lists
    (see ``access_denied``).
    """
    actor = audit.effective_actor(ws, actor)
    why = access_denied(ws, env, actor, legacy=allow)
    if why:
        deny(ws, env, actor, origin, why)
    checked = hooks.validate(hook) if hook is not None else None
    for name, value in (("soak", soak_seconds), ("converge", converge_seconds)):
        if value is not None and not 0 <= value <= 30 * 86400:
            raise FuseboardError(f"the {name} time must be between 0 and 30 days", field=name)
    with ws.transaction() as s:
        e = lookup.environment(s, env)
        before: EnvironmentSettings = {  # (a credential in an old webhook URL is not audited)
            "protected": e.protected, "soak_seconds": e.soak_seconds, "converge_seconds": e.converge_seconds,
            "hook": hooks.shown(cast(hooks.HookConfig, e.hook))}
        if checked is not None:
            e.hook = checked
        if soak_seconds is not None:
            e.soak_seconds = soak_seconds
        if converge_seconds is not None:
            e.converge_seconds = converge_seconds
        if protected is not None:
            e.protected = protected
        after: EnvironmentSettings = {
            "protected": e.protected, "soak_seconds": e.soak_seconds, "converge_seconds": e.converge_seconds,
            "hook": hooks.shown(cast(hooks.HookConfig, e.hook))}
        if after != before:
            s.add(e)
            audit.record(s, action="environment.settings", target=e.name, actor=actor, origin=origin,
                         before={k: v for k, v in before.items() if after[k] != v},
                         after={k: v for k, v in after.items() if before[k] != v}, reason=reason)
    return after
