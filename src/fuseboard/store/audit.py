"""The audit trail: who changed what, from where and why, in a hash chain that shows tampering.

Each event's hash covers its fields and the previous event's hash. Writing (``record``),
verifying (``verify``, ``fuseboard audit verify``) and the migration that chained the events
written before it all hash the same bytes with ``event_hash``: never edit it (that would
invalidate every chain); add a versioned one instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, select

from fuseboard.store import anchor as anchors
from fuseboard.store.anchor import PENDING
from fuseboard.store.db import Workspace, _json_dumps, _json_loads
from fuseboard.store.models import AuditEvent, utcnow

GENESIS = "0" * 64


def stamp(at: datetime) -> str:
    """A time as the chain hashes it: UTC with microseconds (what every back end keeps)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, *, at: datetime, actor: str, origin: str, client: str, action: str, target: str,
               before: dict[str, Any], after: dict[str, Any], reason: str) -> str:
    body = json.dumps([prev_hash, stamp(at), actor, origin, client, action, target, before, after, reason],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def os_user() -> str:
    """The login name of the user this process runs as (from the OS, not from the environment)."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


# whether the workspace this process opened lets FUSEBOARD_USER name the user (set by allow_override)
_OVERRIDE = {"allowed": False}


def allow_override(allowed: bool) -> None:
    """Called with the opened workspace's ``identity_override`` setting (the CLI and the console)."""
    _OVERRIDE["allowed"] = bool(allowed)


def current_actor() -> str:
    """Who is acting: the OS login name; ``$FUSEBOARD_USER`` instead only when the workspace opened
    allows overriding identity (`fuseboard workspace identity --allow-override`: the demo, shared
    service accounts)."""
    name = os.environ.get("FUSEBOARD_USER")
    if name and _OVERRIDE["allowed"]:
        return name
    return os_user()


def effective_actor(ws: Workspace, actor: str) -> str:
    """The identity a change into ``ws`` is checked and recorded under: ``actor`` as given when the
    workspace allows overriding identity, else the OS user whatever the caller claims."""
    return actor if ws.identity_override else os_user()


def ignored_override(ws: Workspace) -> str:
    """A note for refusals: FUSEBOARD_USER is set but this workspace does not let it name the user."""
    name = os.environ.get("FUSEBOARD_USER")
    if name and not ws.identity_override and name != os_user():
        return f"; FUSEBOARD_USER={name} is ignored: this workspace takes identity from the OS login"
    return ""


def host_name() -> str:
    """This machine as fuseboard names it: ``FUSEBOARD_HOST`` if set (containers, tests acting as
    several hosts), else the host name."""
    try:
        return os.environ.get("FUSEBOARD_HOST") or socket.gethostname()
    except OSError:
        return "unknown"


def current_client() -> str:
    """Where a change comes from: the SSH client's address when over SSH, else this host's name."""
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    if ssh:
        return f"ssh {ssh[0]}"
    return f"host {host_name()}"


_HEAD = "fuseboard.audit_head"  # the chain's head within this transaction (session.info)


def _forget_rolled_back(session: Session) -> None:
    """Events of a rolled-back transaction were never written: neither the head they moved nor their
    checkpoints may outlive it (a caller that retries in the same session starts clean)."""
    session.info.pop(_HEAD, None)
    session.info.pop(PENDING, None)


event.listen(Session, "after_rollback", _forget_rolled_back)


def _head(session: Session) -> str:
    if _HEAD not in session.info:
        last = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
        session.info[_HEAD] = last or GENESIS
    return session.info[_HEAD]


def record(
    session: Session,
    *,
    action: str,
    target: str,
    actor: str,
    origin: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """Add one audit event to the caller's transaction, chained to the one before it.

    Two transactions that chain onto the same event cannot both commit (``prev_hash`` is
    unique); SQLite's writers are serialised anyway (``Workspace.transaction``).
    """
    # stored JSON is what verification will hash: normalise through the same codec first
    before, after = _json_loads(_json_dumps(before or {})), _json_loads(_json_dumps(after or {}))
    fields = dict(at=at or utcnow(), actor=actor, origin=origin, client=current_client(), action=action,
                  target=target, before=before, after=after, reason=reason)
    prev = _head(session)
    event = AuditEvent(**fields, prev_hash=prev, hash=event_hash(prev, **fields))
    session.add(event)
    session.info[_HEAD] = event.hash
    session.info.setdefault(PENDING, []).append(event)  # checkpointed in the anchor after the commit
    return event


@dataclass
class ChainReport:
    events: int
    ok: bool
    problem: str = ""
    event_id: int | None = None
    anchor: str | None = None  # the anchor file checked against, if any
    checkpointed: int = 0  # events of the database found in the anchor with the same hash
    beyond_anchor: int = 0  # events newer than the anchor's last checkpoint (accepted: a crash after commit)
    warning: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "ok": self.ok, "problem": self.problem, "event_id": self.event_id,
                "anchor": self.anchor, "checkpointed": self.checkpointed, "beyond_anchor": self.beyond_anchor,
                "warning": self.warning}


def verify(ws: Workspace, anchor_file: Path | None = None) -> ChainReport:
    """Walk the chain in order: every hash must recompute and link to the one before it, and match the
    anchor's checkpoint of it (``anchor_file``, default the workspace's). The database may run ahead of
    the anchor, never behind it: a checkpointed event that is gone, or whose hash differs, is reported."""
    path = anchor_file or ws.audit_anchor
    anchor = anchors.read(path) if path is not None else None
    report = ChainReport(0, True, anchor=str(path) if path is not None else None)
    if anchor is not None and anchor.problem:
        return _fail(report, anchor.problem, anchor.problem_event)
    marks = anchor.entries if anchor is not None else {}
    last_mark = max(marks, default=None)
    pending = iter(sorted(marks))  # checkpointed ids not yet met in the database, in order
    due = next(pending, None)
    prev = GENESIS
    last_id = 0
    with ws.session() as s:
        for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
            report.events += 1
            if due is not None and due < e.id:  # checkpointed, but no longer in the database
                return _fail(report, f"event {due} was removed (its checkpoint: the event of {marks[due][1]}; "
                             f"{path})", due)
            if e.prev_hash != prev:
                return _fail(report, f"event {e.id} does not follow event before it "
                             "(an event was removed or inserted)", e.id)
            expected = event_hash(prev, at=e.at, actor=e.actor, origin=e.origin, client=e.client,
                                  action=e.action, target=e.target, before=e.before, after=e.after,
                                  reason=e.reason)
            if e.hash != expected:
                return _fail(report, f"event {e.id} ({e.action} {e.target}) was altered after it was written", e.id)
            if due == e.id:
                if marks[due][0] != e.hash:
                    return _fail(report, f"event {e.id} ({e.action} {e.target}) was altered and the chain re-hashed: "
                                 f"its hash differs from its checkpoint (the event of {marks[due][1]}; {path})", e.id)
                report.checkpointed += 1
                due = next(pending, None)
            elif last_mark is not None and e.id > last_mark:
                report.beyond_anchor += 1
            prev, last_id = e.hash, e.id
    if due is not None:  # the anchor goes on where the database stops
        removed = sum(1 for i in marks if i >= due)
        where = f"after event {last_id}" if last_id else "(all of them)"
        return _fail(report, f"{removed} checkpointed event(s) removed {where}: the anchor holds events up to "
                     f"{last_mark} (the event of {marks[last_mark][1]}; {path})", due)
    if anchor is not None and not anchor.exists and report.events:
        report.warning = (f"no audit anchor at {path}: removing the newest events or re-hashing the chain "
                          "cannot be detected until the next change starts one")
    elif anchor is not None and anchor.started is not None:
        when, earlier = anchor.started
        report.warning = (f"the audit anchor was started at {when} on {earlier} event(s) already in the database "
                          f"(a workspace from before anchors, or an anchor deleted and started again): changes "
                          f"made to them before then cannot be detected ({path})")
    return report


def _fail(report: ChainReport, problem: str, event_id: int | None) -> ChainReport:
    report.ok, report.problem, report.event_id = False, problem, event_id
    return report
