"""Notifications for the faces: the configured receivers, what the monitor runs besides the checks,
and the outbox's state (``fuseboard outbox``, the console's Monitoring screen)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from fuseboard.config import Config
from fuseboard.errors import FuseboardError, NotFound
from fuseboard.monitoring import delivery
from fuseboard.monitoring.receivers import Receiver, build
from fuseboard.store.db import Workspace


def receivers(config: Config) -> list[Receiver]:
    """The receivers of the config file's ``[[notify.receiver]]`` tables (and ``[notify] webhook``)."""
    return build(config.receivers)


def housekeeping() -> list[Callable[[Workspace], Any]]:
    """What the monitor's leader runs after each health cycle: changes left in flight, escalations."""
    from fuseboard.ops.deploy import reconcile
    from fuseboard.ops.escalation import escalate

    return [reconcile, escalate]


def states(ws: Workspace, config: Config, *, now: datetime | None = None) -> list[delivery.ReceiverState]:
    return delivery.states(ws, receivers(config), now=now)


def dead_letters(ws: Workspace, receiver: str | None = None) -> list[delivery.Letter]:
    return delivery.dead_letters(ws, receiver)


def retry(ws: Workspace, config: Config, name: str) -> tuple[int, int]:
    """Send receiver ``name``'s dead letters again now; (delivered, still failing)."""
    found = [r for r in receivers(config) if r.name == name]
    if not found:
        known = ", ".join(r.name for r in config.receivers) or "none configured"
        raise NotFound(f"no receiver {name!r} in the config file (receivers: {known})")
    problem = found[0].problem()
    if problem:
        raise FuseboardError(f"receiver {name}: {problem}")
    return delivery.retry_dead(ws, found[0])
