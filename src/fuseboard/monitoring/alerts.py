"""Alerts from check results, and what people do with them.

One alert per deployment and check (its fingerprint) while it is open, never a
duplicate: a breach opens it (``firing``), a person acknowledges it, and it
resolves by itself when the check recovers, or by hand with a note. Silences
mute a deployment's alerts (one check or all) until they expire; a silenced
alert still opens and resolves, it is only shown as silenced.

A check that recovers and breaches again within the model's flap period (default 30 min,
``monitoring set --flap-period``) reopens the alert it resolved and counts a flap, instead
of opening a new one.

Every change made by a person is audited; the monitor's own opening and
resolving is recorded on the alert itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from sqlalchemy import insert, update
from sqlmodel import Session, select

from fuseboard.errors import FuseboardError, NotFound
from fuseboard.monitoring.alert_view import AlertView, display_order, muting
from fuseboard.status import OPEN_ALERT_STATES, AlertState, Status
from fuseboard.store import audit, lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Alert, CheckRun, CheckState, Environment, Model, ModelVersion,
                                     Silence, utcnow)

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.checks import DeploymentChecks
    from fuseboard.monitoring.settings import MonitoringSettings

FLAP_PERIOD = timedelta(minutes=30)
MAX_FLAP_PERIOD = timedelta(hours=24)


def flap_period(settings: MonitoringSettings | None) -> timedelta:
    """The model's flap period (``flap_period_minutes`` in its monitoring settings; 0: never reopen)."""
    minutes = (settings or {}).get("flap_period_minutes")
    return FLAP_PERIOD if minutes is None else timedelta(minutes=int(minutes))


def fingerprint(model: str, env: str, check: str) -> str:
    return f"{model}/{env}/{check}"


def record_results(session: Session, results: list[DeploymentChecks], *, now: datetime | None = None,
                   outbox: list[Alert] | None = None) -> list[Alert]:
    """Store the check results and open, update or resolve the alerts they imply.

    The latest result of each check is kept in ``CheckState``; the history
    (``CheckRun``) gets a row only when a check's status changes, so it grows with
    events, not with time.

    ``results`` are ``checks.DeploymentChecks``. Runs in the caller's transaction;
    returns the alerts that opened or resolved in this call. ``outbox``, if given, receives the
    alerts whose event is to be sent now (``notifications``): silences hold "fired" back.
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
    recovered: dict[str, Alert] = {}  # alerts the monitor resolved lately, which a new breach may reopen
    for a in session.exec(select(Alert).where(Alert.state == AlertState.RESOLVED, Alert.resolved_by == "monitor",
                                              Alert.resolved_at >= now - MAX_FLAP_PERIOD)
                          .order_by(Alert.resolved_at, Alert.id)):
        recovered[a.fingerprint] = a  # the latest per fingerprint
    changed = []
    seen_before: dict[str, datetime] = {}  # open alerts still breaching: the last cycle that saw them before
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
            status = Status.of(c.status)
            if status.breach:
                severity = Status.WARN if status is Status.ERROR else status
                summary = c.summary if status is not Status.ERROR else f"check error: {c.summary}"
                flapped = recovered.get(key) if alert is None else None
                if flapped is not None and flapped.resolved_at >= now - flap_period(m.monitoring):
                    _reopen(flapped, now)
                    flapped.severity, flapped.summary, flapped.last_seen_at = severity, summary, now
                    alert = open_alerts[key] = flapped
                    del recovered[key]
                    changed.append(alert)
                elif alert is None:
                    alert = Alert(fingerprint=key, open_key=key, model_id=m.id, environment_id=e.id, check=c.check,
                                  severity=severity, summary=summary, opened_at=now, last_seen_at=now)
                    open_alerts[key] = alert
                    changed.append(alert)
                else:
                    seen_before[key] = alert.last_seen_at
                    alert.severity, alert.summary, alert.last_seen_at = severity, summary, now
                session.add(alert)
            elif status is Status.OK and alert is not None:
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
    if outbox is not None:
        still_open = [open_alerts[key] for key in seen_before if key in open_alerts]
        outbox.extend(notifications(session, changed, still_open, seen_before, now))
    return changed


def notifications(session: Session, changed: list[Alert], still_open: list[Alert], seen_before: dict[str, datetime],
                  now: datetime) -> list[Alert]:
    """The alerts whose event goes out now, once the silences are taken into account.

    An alert that opens while its deployment (or its check) is silenced is not announced; when the
    silences covering its opening have all ended and it is still open (its check still breaching),
    the first cycle after that announces it ("fired"). An alert resolves quietly when its "fired"
    was never sent; when it was, "resolved" is sent even during a silence, so that a receiver that
    opened an incident can close it (a silence holds new pages back, not the all-clear).
    """
    alerts_ = [*changed, *still_open]
    if not alerts_:
        return []
    earliest = min(a.opened_at for a in alerts_)
    silences: dict[tuple[int, int], list[Silence]] = {}
    for x in session.exec(select(Silence).where(Silence.ends_at > earliest)):
        silences.setdefault((x.model_id, x.environment_id), []).append(x)

    def announced_from(alert: Alert) -> datetime:
        """When the alert's "fired" may go out: its (re)opening, or the end of the silences covering it."""
        at = _began(alert)
        mine = [x for x in silences.get((alert.model_id, alert.environment_id), ()) if x.check in (None, alert.check)]
        while True:
            ends = [x.ends_at for x in mine if x.starts_at <= at < x.ends_at]
            if not ends:
                return at
            at = max(ends)

    out = []
    for alert in changed:
        if alert.state == AlertState.RESOLVED:  # "fired" went out if a cycle saw it open once it could
            if alert.last_seen_at >= announced_from(alert):
                out.append(alert)
        elif announced_from(alert) <= now:  # opened now, not silenced
            out.append(alert)
    for alert in still_open:  # held back while silenced: out with the first cycle after the silence
        released = announced_from(alert)
        if _began(alert) < released <= now and seen_before[alert.open_key] < released:
            out.append(alert)
    return out


class AlertBody(TypedDict):
    """The alert in an ``AlertEvent``."""

    id: int
    fingerprint: str
    model: str
    environment: str
    check: str
    severity: str  # a Status word: warn or crit
    state: str  # an AlertState word
    summary: str
    opened_at: str  # ISO 8601
    resolved_at: str | None
    criticality: str
    flaps: int
    runbook: str


class AlertEvent(TypedDict):
    """What a notification hook receives (as JSON) when an alert fires or resolves."""

    event: Literal["fired", "resolved"]
    alert: AlertBody


def event(session: Session, alert: Alert) -> AlertEvent:
    """What a notification hook receives when an alert fires or resolves."""
    model = session.get(Model, alert.model_id)
    env = session.get(Environment, alert.environment_id)
    return {"event": "resolved" if alert.state == AlertState.RESOLVED else "fired",
            "alert": {"id": alert.id, "fingerprint": alert.fingerprint, "model": model.name, "environment": env.name,
                      "check": alert.check, "severity": alert.severity, "state": alert.state,
                      "summary": alert.summary, "opened_at": alert.opened_at.isoformat(),
                      "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
                      "criticality": model.criticality, "flaps": alert.flaps or 0,
                      "runbook": str((model.monitoring or {}).get("runbook", ""))}}


def _resolve(alert: Alert, who: str, note: str, now: datetime) -> None:
    alert.state, alert.open_key = AlertState.RESOLVED, None
    alert.resolved_by, alert.resolved_at, alert.note = who, now, note


def _reopen(alert: Alert, now: datetime) -> None:
    """A flap: the alert the check's recovery resolved opens again (still acknowledged, if it was)."""
    alert.state = AlertState.ACKNOWLEDGED if alert.acknowledged_by else AlertState.FIRING
    alert.open_key = alert.fingerprint
    alert.resolved_by, alert.resolved_at, alert.note = None, None, ""
    alert.flaps = (alert.flaps or 0) + 1
    alert.reopened_at = now


def _began(alert: Alert) -> datetime:
    """When the alert's current spell began: its opening, or its latest reopening."""
    return alert.reopened_at or alert.opened_at




def list_alerts(ws: Workspace, *, include_resolved: bool = False, now: datetime | None = None,
                limit: int = 500) -> list[AlertView]:
    """Open alerts, worst and newest first (resolved ones too, if asked)."""
    from fuseboard.store.models import Team

    now = now or utcnow()
    with ws.session() as s:
        stmt = (select(Alert, Model.name, Environment.name, Model.criticality, Team.name, Model.monitoring)
                .join(Model, Model.id == Alert.model_id).join(Environment, Environment.id == Alert.environment_id)
                .outerjoin(Team, Team.id == Model.owner_team_id))
        if not include_resolved:
            stmt = stmt.where(Alert.state.in_(OPEN_ALERT_STATES))
        rows = s.exec(stmt.order_by(Alert.opened_at.desc()).limit(limit)).all()
        silences = s.exec(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)).all()
    silence_of = muting(silences)

    views = []
    for a, model, env, criticality, owner, settings in rows:
        muted = silence_of(a.model_id, a.environment_id, a.check)
        views.append(AlertView(
            a.id, model, env, a.check, a.severity, a.state, muted is not None, a.summary, a.opened_at, a.last_seen_at,
            a.acknowledged_by, a.resolved_at, a.note, a.acknowledged_at, muted.author if muted else None,
            muted.ends_at if muted else None, a.flaps or 0, a.reopened_at, a.resolved_by, criticality, owner,
            str((settings or {}).get("runbook", ""))))
    views.sort(key=display_order)
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
        if alert.state == AlertState.RESOLVED:
            raise FuseboardError(f"alert {alert_id} is already resolved")
        if alert.state == AlertState.ACKNOWLEDGED:
            return alert
        alert.state, alert.acknowledged_by, alert.acknowledged_at = AlertState.ACKNOWLEDGED, actor, now
        s.add(alert)
        _audit(s, "alert.ack", alert, actor, origin, {"state": AlertState.FIRING.value},
               {"state": AlertState.ACKNOWLEDGED.value}, reason, now)
    return alert


def resolve(ws: Workspace, alert_id: int, *, actor: str, origin: str, note: str,
            now: datetime | None = None) -> Alert:
    """Resolve by hand with a note. Resolving a resolved alert is a no-op."""
    if not note.strip():
        raise FuseboardError("resolving by hand needs a note", field="note")
    now = now or utcnow()
    with ws.transaction() as s:
        alert = _open_alert(s, alert_id)
        if alert.state == AlertState.RESOLVED:
            return alert
        before = str(alert.state)
        _resolve(alert, actor, note, now)
        s.add(alert)
        _audit(s, "alert.resolve", alert, actor, origin, {"state": before}, {"state": AlertState.RESOLVED.value},
               note, now)
    return alert


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d`` (and combinations such as ``1h30m``): how long a silence lasts."""
    from fuseboard import inputs

    return inputs.duration(text, "--for", minimum=timedelta(minutes=1), maximum=timedelta(days=30))


def parse_flap_period(text: str) -> int:
    """``--flap-period``: 30m, 2h, 1h30m, or 0 (never reopen), at most a day; in minutes."""
    if text.strip() in ("0", "0m"):
        return 0
    try:
        minutes = int(parse_duration(text).total_seconds() // 60)
    except FuseboardError:
        raise FuseboardError(f"{text!r} is not a duration like 30m or 2h, or 0", field="flap_period") from None
    if minutes * 60 > MAX_FLAP_PERIOD.total_seconds():
        raise FuseboardError(f"{text!r} is longer than a day", field="flap_period")
    return minutes


def silence(ws: Workspace, model: str, env: str, duration: timedelta, *, comment: str, actor: str, origin: str,
            check: str | None = None, now: datetime | None = None) -> Silence:
    """Mute a deployment's alerts (one check, or all) for ``duration``; audited."""
    if not comment.strip():
        raise FuseboardError("a silence needs a comment saying why", field="comment")
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
