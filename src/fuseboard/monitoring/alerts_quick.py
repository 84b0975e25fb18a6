"""The alert list over a plain ``sqlite3`` connection (``store.lite``), without SQLAlchemy.

The same records, in the same order, as ``monitoring.alerts.list_alerts``: the statements are
that function's, written out, so that alerts opened in one cycle (one ``opened_at``) come out in
the same order too. tests/integration/test_quick_reads.py holds the two side by side.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fuseboard.clock import utcnow
from fuseboard.monitoring.alert_view import AlertView, display_order, muting
from fuseboard.monitoring.occurrence import occurrence
from fuseboard.status import OPEN_ALERT_STATES
from fuseboard.store.lite import json_value, stamp, when


_ALERTS = (
    'SELECT alert.id, alert.fingerprint, alert.open_key, alert.model_id, alert.environment_id, alert."check", '
    "alert.severity, alert.state, alert.summary, alert.opened_at, alert.last_seen_at, alert.acknowledged_by, "
    "alert.acknowledged_at, alert.resolved_by, alert.resolved_at, alert.note, alert.flaps, alert.reopened_at, "
    "alert.escalated_to, "
    "model.name, environment.name AS name_1, model.criticality, team.name AS name_2, model.monitoring \n"
    "FROM alert JOIN model ON model.id = alert.model_id JOIN environment ON environment.id = alert.environment_id "
    "LEFT OUTER JOIN team ON team.id = model.owner_team_id {where}ORDER BY alert.opened_at DESC\n LIMIT ? OFFSET ?")
_SILENCES = ('SELECT silence.id, silence.model_id, silence.environment_id, silence."check", silence.author, '
             "silence.comment, silence.starts_at, silence.ends_at, silence.every_seconds, silence.cancelled_at "
             "\nFROM silence \nWHERE (silence.cancelled_at IS NULL OR silence.cancelled_at > ?) AND "
             "silence.starts_at <= ? AND (silence.every_seconds IS NOT NULL OR silence.ends_at > ?)")


@dataclass(frozen=True)
class _Silence:
    model_id: int
    environment_id: int
    check: str | None
    author: str
    ends_at: datetime


def list_alerts_lite(conn: sqlite3.Connection, *, include_resolved: bool = False, now: datetime | None = None,
                     limit: int = 500) -> list[AlertView]:
    """Open alerts, worst and newest first (resolved ones too, if asked), as ``list_alerts`` returns them."""
    now = now or utcnow()
    if include_resolved:
        rows = conn.execute(_ALERTS.format(where=""), (limit, 0)).fetchall()
    else:
        marks = ", ".join("?" for _ in OPEN_ALERT_STATES)
        rows = conn.execute(_ALERTS.format(where=f"\nWHERE alert.state IN ({marks}) "),
                            (*OPEN_ALERT_STATES, limit, 0)).fetchall()
    at = stamp(now)
    spans = ((model_id, env_id, check, author, occurrence(when(starts), when(ends), every, when(cancelled), now))
             for _id, model_id, env_id, check, author, _comment, starts, ends, every, cancelled
             in conn.execute(_SILENCES, (at, at, at)))
    silence_of = muting(_Silence(model_id, env_id, check, author, span[1])
                        for model_id, env_id, check, author, span in spans if span is not None)

    views = []
    for (id_, _fp, _key, model_id, env_id, check, severity, state, summary, opened_at, last_seen_at, acked_by,
         acked_at, resolved_by, resolved_at, note, flaps, reopened_at, escalated_to, model, env, criticality, owner,
         settings) in rows:
        muted = silence_of(model_id, env_id, check)
        settings = json_value(settings)
        views.append(AlertView(
            id_, model, env, check, severity, state, muted is not None, summary, when(opened_at), when(last_seen_at),
            acked_by, when(resolved_at), note, when(acked_at), muted.author if muted else None,
            muted.ends_at if muted else None, flaps or 0, when(reopened_at), resolved_by, criticality, owner,
            str((settings or {}).get("runbook", "")), "", escalated_to))
    views.sort(key=display_order)
    return views
