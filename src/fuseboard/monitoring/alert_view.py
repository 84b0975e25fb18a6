"""An alert as the faces show it, importable without SQLAlchemy.

``monitoring.alerts.list_alerts`` (the ORM read) and ``monitoring.alerts_quick`` (the command
line's fast SQLite read) both return these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from fuseboard.status import AlertState, Status


@dataclass
class AlertView:
    id: int
    model: str
    environment: str
    check: str
    severity: str
    state: str
    silenced: bool
    summary: str
    opened_at: datetime
    last_seen_at: datetime
    acknowledged_by: str | None
    resolved_at: datetime | None
    note: str
    acknowledged_at: datetime | None = None
    silenced_by: str | None = None  # who silenced it (the silence that lasts longest), until when
    silenced_until: datetime | None = None
    flaps: int = 0  # times it recovered and fired again within the flap period
    reopened_at: datetime | None = None
    resolved_by: str | None = None
    criticality: str = ""
    owner: str | None = None  # the owning team
    runbook: str = ""
    on_call: str = ""  # who to call now (filled in by ops.incident.alert_views)
    escalated_to: str | None = None  # nobody acknowledged it in time: re-sent to this person (ops/escalation.py)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("opened_at", "last_seen_at", "resolved_at", "acknowledged_at", "silenced_until", "reopened_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


def display_order(view: AlertView) -> tuple[bool, bool, int, float]:
    """The order the faces list alerts in: open before resolved, loud before silenced, worst first,
    newest first."""
    return (view.state == AlertState.RESOLVED, view.silenced, -Status.of(view.severity).rank,
            -view.opened_at.timestamp())


class _Silence(Protocol):
    model_id: int
    environment_id: int
    check: str | None  # None: every check of the deployment
    ends_at: datetime


S = TypeVar("S", bound=_Silence)


def muting(silences: Iterable[S]) -> Callable[[int, int, str], S | None]:
    """Which of ``silences`` (those in force now) mutes a deployment's check: ``of(model_id,
    environment_id, check)`` is the one that lasts longest of those for that check and those for all
    its checks; None when none does."""
    longest: dict[tuple[int, int, str | None], S] = {}
    for x in silences:
        key = (x.model_id, x.environment_id, x.check)
        if key not in longest or x.ends_at > longest[key].ends_at:
            longest[key] = x

    def of(model_id: int, environment_id: int, check: str) -> S | None:
        deployment = (model_id, environment_id)
        found = [x for x in (longest.get((*deployment, check)), longest.get((*deployment, None))) if x is not None]
        return max(found, key=lambda x: x.ends_at) if found else None

    return of
