"""The audit trail: who changed what, from where and why, in a hash chain that shows tampering.

Each event's hash covers its fields and the previous event's hash. Writing (``record``),
verifying (``verify``, ``fuseboard audit verify``) and the migration that chained the events
written before it all hash the same bytes with ``event_hash``: never edit it (that would
invalidate every chain); add a versioned one instead.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, select

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


def current_actor() -> str:
    """``$FUSEBOARD_USER`` if set, else the login name."""
    name = os.environ.get("FUSEBOARD_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
    return event


@dataclass
class ChainReport:
    events: int
    ok: bool
    problem: str = ""
    event_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "ok": self.ok, "problem": self.problem, "event_id": self.event_id}


def verify(ws: Workspace) -> ChainReport:
    """Walk the chain in order: every hash must recompute and link to the one before it."""
    prev = GENESIS
    count = 0
    with ws.session() as s:
        for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
            count += 1
            if e.prev_hash != prev:
                return ChainReport(count, False, f"event {e.id} does not follow event before it "
                                   "(an event was removed or inserted)", e.id)
            expected = event_hash(prev, at=e.at, actor=e.actor, origin=e.origin, client=e.client,
                                        action=e.action, target=e.target, before=e.before, after=e.after,
                                        reason=e.reason)
            if e.hash != expected:
                return ChainReport(count, False, f"event {e.id} ({e.action} {e.target}) was altered "
                                   "after it was written", e.id)
            prev = e.hash
    return ChainReport(count, True)
