"""Escalation: a critical alert nobody acknowledged in time goes to the next person on the rota.

After each health cycle the monitor (its leader) looks for critical alerts still firing, announced to
the receivers (not silenced) and not yet escalated, whose current spell began at least N minutes ago:
N is the model's ``escalate_after_minutes`` (``monitoring set --escalate-after``), else its tier's
default (15 for mission-critical, never for internal). Each is marked escalated to the owning team's
next person on call (``turns.now_and_next``), re-sent to the receivers as "escalated" and audited,
all in one transaction. An alert escalates once a spell; acknowledging stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from fuseboard.monitoring import outbox
from fuseboard.ops import audit
from fuseboard.status import AlertState, Status
from fuseboard.store.db import Workspace
from fuseboard.store.models import Alert, Environment, Model, Team, utcnow

DEFAULT_MINUTES = {"mission-critical": 15, "internal": 0}  # 0: never


@dataclass(frozen=True)
class Escalation:
    alert: int
    model: str
    environment: str
    check: str
    to: str  # a person's handle, or "team NAME" when its rota names nobody else
    after_minutes: int


def escalate_after(criticality: str, settings: dict | None) -> int:
    """Minutes an unacknowledged critical alert waits before it escalates (0: never)."""
    value = (settings or {}).get("escalate_after_minutes")
    return int(value) if value is not None else DEFAULT_MINUTES.get(criticality, 0)


def escalate(ws: Workspace, *, now: datetime | None = None) -> list[Escalation]:
    """Escalate every critical alert left unacknowledged past its model's limit (see the module)."""
    now = now or utcnow()
    done: list[Escalation] = []
    with ws.transaction() as s:
        rows = s.exec(select(Alert, Model, Environment.name).join(Model, Model.id == Alert.model_id)
                      .join(Environment, Environment.id == Alert.environment_id)
                      .where(Alert.state == AlertState.FIRING, Alert.severity == Status.CRIT.value,
                             Alert.told == "open", Alert.escalated_at.is_(None))).all()
        for alert, model, env in rows:
            minutes = escalate_after(model.criticality, model.monitoring)
            began = alert.reopened_at or alert.opened_at
            if not minutes or now - began < timedelta(minutes=minutes):
                continue
            current, following = outbox.on_call_of(s, model.owner_team_id, now)
            if following and following != current:
                to = following
            else:
                team = s.get(Team, model.owner_team_id) if model.owner_team_id else None
                to = f"team {team.name}" if team else "nobody (no owning team)"
            alert.escalated_at, alert.escalated_to = now, to
            s.add(alert)
            note = f"not acknowledged within {minutes} min" + (f"; {current} was on call" if current else "")
            outbox.alert_event(s, alert, outbox.Kind.ESCALATED, note=note, at=now, escalated_to=to)
            audit.record(s, at=now, actor="monitor", origin="monitor", action="alert.escalate",
                         target=f"{model.name}/{env}", before={"state": alert.state},
                         after={"alert": alert.id, "check": alert.check, "to": to, "after_minutes": minutes},
                         reason=note)
            done.append(Escalation(alert.id, model.name, env, alert.check, to, minutes))
    return done
