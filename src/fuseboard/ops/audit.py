"""The audit trail: who changed what, from where, and why."""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from typing import Any

from sqlmodel import Session

from fuseboard.store.models import AuditEvent, utcnow


def current_actor() -> str:
    """``$FUSEBOARD_USER`` if set, else the login name."""
    name = os.environ.get("FUSEBOARD_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
    """Add one audit event to the caller's transaction."""
    event = AuditEvent(
        at=at or utcnow(),
        actor=actor,
        origin=origin,
        action=action,
        target=target,
        before=before or {},
        after=after or {},
        reason=reason,
    )
    session.add(event)
    return event
