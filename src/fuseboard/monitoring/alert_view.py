"""An alert as the faces show it, importable without SQLAlchemy.

``monitoring.alerts.list_alerts`` (the ORM read) and ``monitoring.alerts_quick`` (the command
line's fast SQLite read) both return these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

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
