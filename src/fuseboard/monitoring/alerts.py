"""Alerts from check results, and what people do with them.

One alert per deployment and check (its fingerprint) while it is open, never a
duplicate: a breach opens it (``firing``), a person acknowledges it, and it
resolves by itself when the check recovers, or by hand with a note. Silences
mute a deployment's alerts (one check or all) until they expire; a silenced
alert still opens and resolves, it is only shown as silenced.

Every change made by a person is audited; the monitor's own opening and
resolving is recorded on the alert itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, select

from fuseboard.errors import FuseboardError, NotFound
from fuseboard.store import audit, lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Alert, CheckRun, CheckState, Environment, Model, ModelVersion,
                                     Silence, utcnow)

BREACH = ("warn", "crit", "error")
OPEN_STATES = ("firing", "acknowledged")


def fingerprint(model: str, env: str, check: str) -> str:
    return f"{model}/{env}/{check}"


def record_results(session: Session, results: list[Any], *, now: datetime | None = None) -> list[Alert]:
    """Store the check results and open, update or resolve the alerts they imply.

    The latest result of each check is kept in ``CheckState``; the history
    (``CheckRun``) gets a row only when a check's status changes, so it grows with
    events, not with time.

    ``results`` are ``checks.DeploymentChecks``. Runs in the caller's transaction;
    returns the alerts that opened or resolved in this call.
    """
    now = now or utcnow()
    models = {m.name: m for m in session.exec(select(Model))}
    envs = {e.name: e for e in session.exec(select(Environment))}
    # everything a cycle touches, loaded in three queries rather than a few per check
    versions = {(model_id, version): id_ for id_, model_id, version in session.exec(
        select(ModelVersion.id, ModelVersion.model_id, ModelVersion.version))}  # not the profiles
    # plain rows and bulk statements: a cycle over a thousand deployments writes thousands of states
    states = {(r.model_id, r.environment_id, r.check): r for r in session.execute(select(
        CheckState.model_id, CheckState.environment_id, CheckState.check, CheckState.status,
        CheckState.version_id, CheckState.since))}
    open_alerts = {a.open_key: a for a in session.exec(select(Alert).where(Alert.open_key.is_not(None)))}
    changed = []
    new_runs: list[dict[str, Any]] = []
    new_states: list[dict[str, Any]] = []
    updated_states: list[dict[str, Any]] = []
    for dep in results:
        m, e = models[dep.model], envs[dep.environment]
        version_id = versions[(m.id, dep.version)]
        for c in dep.checks:
            state = states.get((m.id, e.id, c.check))
            if state is None or state.status != c.status or state.version_id != version_id:
                new_runs.append(dict(model_id=m.id, environment_id=e.id, version_id=version_id, check=c.check,
                                     status=c.status, summary=c.summary, rows=c.rows, details=c.details, at=now))
                since = now
            else:
                since = state.since
            values = dict(version_id=version_id, status=c.status, summary=c.summary, rows=c.rows, details=c.details,
                          at=now, since=since)
            if state is None:
                new_states.append(dict(model_id=m.id, environment_id=e.id, check=c.check, **values))
            else:
                updated_states.append(dict(model_id=m.id, environment_id=e.id, check=c.check, **values))
            key = fingerprint(m.name, e.name, c.check)
            alert = open_alerts.get(key)
            if c.status in BREACH:
                severity = "warn" if c.status == "error" else c.status
                summary = c.summary if c.status != "error" else f"check error: {c.summary}"
                if alert is None:
                    alert = Alert(fingerprint=key, open_key=key, model_id=m.id, environment_id=e.id, check=c.check,
                                  severity=severity, summary=summary, opened_at=now, last_seen_at=now)
                    open_alerts[key] = alert
                    changed.append(alert)
                else:
                    alert.severity, alert.summary, alert.last_seen_at = severity, summary, now
                session.add(alert)
            elif c.status == "ok" and alert is not None:
                _resolve(alert, "monitor", "check recovered", now)
                session.add(alert)
                del open_alerts[key]
                changed.append(alert)
    if new_runs:
        session.execute(insert(CheckRun), new_runs)
    if new_states:
        session.execute(insert(CheckState), new_states)
    if updated_states:
        session.execute(update(CheckState), updated_states)  # by primary key, executemany
    return changed


def event(session: Session, alert: Alert) -> dict[str, Any]:
    """What a notification hook receives when an alert fires or resolves."""
    model = session.get(Model, alert.model_id)
    env = session.get(Environment, alert.environment_id)
    return {"event": "resolved" if alert.state == "resolved" else "fired",
            "alert": {"id": alert.id, "fingerprint": alert.fingerprint, "model": model.name, "environment": env.name,
                      "check": alert.check, "severity": alert.severity, "state": alert.state,
                      "summary": alert.summary, "opened_at": alert.opened_at.isoformat(),
                      "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
                      "criticality": model.criticality}}


def _resolve(alert: Alert, who: str, note: str, now: datetime) -> None:
    alert.state, alert.open_key = "resolved", None
    alert.resolved_by, alert.resolved_at, alert.note = who, now, note


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

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("opened_at", "last_seen_at", "resolved_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


SEVERITY_ORDER = {"crit": 0, "warn": 1}


def list_alerts(ws: Workspace, *, include_resolved: bool = False, now: datetime | None = None,
                limit: int = 500) -> list[AlertView]:
    """Open alerts, worst and newest first (resolved ones too, if asked)."""
    now = now or utcnow()
    with ws.session() as s:
        stmt = (select(Alert, Model.name, Environment.name)
                .join(Model, Model.id == Alert.model_id).join(Environment, Environment.id == Alert.environment_id))
        if not include_resolved:
            stmt = stmt.where(Alert.state.in_(OPEN_STATES))
        rows = s.exec(stmt.order_by(Alert.opened_at.desc()).limit(limit)).all()
        silences = s.exec(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)).all()
    muted = {(x.model_id, x.environment_id, x.check) for x in silences}
    views = [AlertView(a.id, model, env, a.check, a.severity, a.state,
                       (a.model_id, a.environment_id, a.check) in muted or (a.model_id, a.environment_id, None) in muted,
                       a.summary, a.opened_at, a.last_seen_at, a.acknowledged_by, a.resolved_at, a.note)
             for a, model, env in rows]
    views.sort(key=lambda v: (v.state == "resolved", v.silenced, SEVERITY_ORDER.get(v.severity, 2),
                              -v.opened_at.timestamp()))
    return views


def _audit(session: Session, action: str, alert: Alert, actor: str, origin: str, before: dict, after: dict,
           reason: str, now: datetime) -> None:
    audit.record(session, at=now, actor=actor, origin=origin, action=action,
                 target=f"{alert.fingerprint.rsplit('/', 1)[0]}", before=before,
                 after={**after, "alert": alert.id, "check": alert.check}, reason=reason)


def _open_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id} (see `fuseboard alerts`)")
    return alert


def acknowledge(ws: Workspace, alert_id: int, *, actor: str, origin: str, reason: str = "",
                now: datetime | None = None) -> Alert:
    """firing -> acknowledged (by whom). Acknowledging twice is a no-op, not an error."""
    now = now or utcnow()
    with ws.transaction() as s:
        alert = _open_alert(s, alert_id)
        if alert.state == "resolved":
            raise FuseboardError(f"alert {alert_id} is already resolved")
        if alert.state == "acknowledged":
            return alert
        alert.state, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", actor, now
        s.add(alert)
        _audit(s, "alert.ack", alert, actor, origin, {"state": "firing"}, {"state": "acknowledged"}, reason, now)
    return alert


def resolve(ws: Workspace, alert_id: int, *, actor: str, origin: str, note: str,
            now: datetime | None = None) -> Alert:
    """Resolve by hand with a note. Resolving a resolved alert is a no-op."""
    if not note.strip():
        raise FuseboardError("resolving by hand needs a note (--note)")
    now = now or utcnow()
    with ws.transaction() as s:
        alert = _open_alert(s, alert_id)
        if alert.state == "resolved":
            return alert
        before = alert.state
        _resolve(alert, actor, note, now)
        s.add(alert)
        _audit(s, "alert.resolve", alert, actor, origin, {"state": before}, {"state": "resolved"}, note, now)
    return alert


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d`` (and combinations such as ``1h30m``): how long a silence lasts."""
    from fuseboard import inputs

    return inputs.duration(text, "--for", minimum=timedelta(minutes=1), maximum=timedelta(days=30))


def silence(ws: Workspace, model: str, env: str, duration: timedelta, *, comment: str, actor: str, origin: str,
            check: str | None = None, now: datetime | None = None) -> Silence:
    """Mute a deployment's alerts (one check, or all) for ``duration``; audited."""
    if not comment.strip():
        raise FuseboardError("a silence needs a comment saying why (--comment)")
    now = now or utcnow()
    with ws.transaction() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        item = Silence(model_id=m.id, environment_id=e.id, check=check, author=actor, comment=comment,
                       starts_at=now, ends_at=now + duration)
        s.add(item)
        audit.record(s, at=now, actor=actor, origin=origin, action="alert.silence", target=f"{m.name}/{e.name}",
                     after={"check": check or "all", "until": item.ends_at.isoformat()}, reason=comment)
    return item
