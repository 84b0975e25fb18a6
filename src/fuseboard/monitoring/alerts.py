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
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, update
from sqlmodel import Session, select

from fuseboard.errors import FuseboardError, NotFound
from fuseboard.monitoring import outbox
from fuseboard.monitoring.alert_view import AlertView, display_order, muting
from fuseboard.monitoring.silences import in_force
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


def record_results(session: Session, results: list[DeploymentChecks], *, now: datetime | None = None) -> list[Alert]:
    """Store the check results and open, update or resolve the alerts they imply.

    The latest result of each check is kept in ``CheckState``; the history
    (``CheckRun``) gets a row only when a check's status changes, so it grows with
    events, not with time.

    ``results`` are ``checks.DeploymentChecks``. Runs in the caller's transaction;
    returns the alerts that opened or resolved in this call. What the receivers are told of them
    (silences taken into account) is ``outbox.sync_alerts``'s, in the same transaction.
    """
    now = now or utcnow()
    models = {m.name: m for m in session.exec(select(Model))}
    envs = {e.name: e for e in session.exec(select(Environment))}
    # everything a cycle touches, loaded in three queries rather than a few per check
    versions = {(model_id, version): id_ for id_, model_id, version in session.exec(
        select(ModelVersion.id, ModelVersion.model_id, ModelVersion.version))}  # not the profiles
    # plain rows and bulk statements: a cycle over a thousand deployments writes thousands of states
    # of the models checked only (a monitor's shards are a part of the workspace), a few hundred at a time
    checked = sorted({models[dep.model].id for dep in results})
    everything = len(checked) == len(models)
    kinds = sorted({c.check for dep in results for c in dep.checks})  # (a health cycle: the health states only)
    states: dict[tuple[int, int, str], Any] = {}
    open_alerts: dict[str, Alert] = {}
    for lo in range(0, len(checked), 500):
        part = checked[lo:lo + 500]
        state_query = select(CheckState.model_id, CheckState.environment_id, CheckState.check, CheckState.status,
                             CheckState.version_id, CheckState.since).where(CheckState.check.in_(kinds))
        alert_query = select(Alert).where(Alert.open_key.is_not(None))
        if not everything:
            state_query = state_query.where(CheckState.model_id.in_(part))
            alert_query = alert_query.where(Alert.model_id.in_(part))
        states.update({(r.model_id, r.environment_id, r.check): r for r in session.execute(state_query)})
        open_alerts.update({a.open_key: a for a in session.exec(alert_query)})
        if everything:
            break
    recovered: dict[str, Alert] = {}  # alerts the monitor resolved lately, which a new breach may reopen
    for a in session.exec(select(Alert).where(Alert.state == AlertState.RESOLVED, Alert.resolved_by == "monitor",
                                              Alert.resolved_at >= now - MAX_FLAP_PERIOD)
                          .order_by(Alert.resolved_at, Alert.id)):
        recovered[a.fingerprint] = a  # the latest per fingerprint
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
    return changed


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
    alert.escalated_at, alert.escalated_to = None, None  # a new spell: it may escalate again




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
        silences = in_force(s, now)
    silence_of = muting(silences)

    views = []
    for a, model, env, criticality, owner, settings in rows:
        muted = silence_of(a.model_id, a.environment_id, a.check)
        views.append(AlertView(
            a.id, model, env, a.check, a.severity, a.state, muted is not None, a.summary, a.opened_at, a.last_seen_at,
            a.acknowledged_by, a.resolved_at, a.note, a.acknowledged_at, muted.author if muted else None,
            muted.ends_at if muted else None, a.flaps or 0, a.reopened_at, a.resolved_by, criticality, owner,
            str((settings or {}).get("runbook", "")), "", a.escalated_to))
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
        if alert.told in ("open", "silenced"):  # receivers that were told of it (PagerDuty acknowledges too)
            outbox.alert_event(s, alert, outbox.Kind.ACKNOWLEDGED, actor=actor, note=reason, at=now)
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
        if alert.told in ("open", "silenced"):
            outbox.alert_event(s, alert, outbox.Kind.RESOLVED, actor=actor, note=note, at=now)
        _audit(s, "alert.resolve", alert, actor, origin, {"state": before}, {"state": AlertState.RESOLVED.value},
               note, now)
    return alert


def parse_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d`` (and combinations such as ``1h30m``): how long a silence lasts."""
    from fuseboard import inputs

    return inputs.duration(text, "--for", minimum=timedelta(minutes=1), maximum=timedelta(days=30))


def parse_flap_period(text: str, field: str = "flap_period") -> int:
    """``--flap-period`` (and ``--escalate-after``): 30m, 2h, 1h30m, or 0 (never), at most a day; in minutes."""
    if text.strip() in ("0", "0m"):
        return 0
    try:
        minutes = int(parse_duration(text).total_seconds() // 60)
    except FuseboardError:
        raise FuseboardError(f"{text!r} is not a duration like 30m or 2h, or 0", field=field) from None
    if minutes * 60 > MAX_FLAP_PERIOD.total_seconds():
        raise FuseboardError(f"{text!r} is longer than a day", field=field)
    return minutes


def parse_start(text: str, *, now: datetime | None = None) -> datetime:
    """``--from``: an ISO 8601 time (local when it names no zone), ``now``, or ``+2h`` (that long from now)."""
    from fuseboard import inputs

    now = now or utcnow()
    value = text.strip()
    if value in ("", "now"):
        return now
    if value.startswith("+"):
        return now + inputs.duration(value[1:], "--from", minimum=timedelta(0), maximum=timedelta(days=365))
    try:
        inputs.seconds_of(value, "--from")
    except FuseboardError:  # not a duration: a time
        return inputs.when(value, "--from", now=now)
    raise FuseboardError(f"{inputs.shown(value)} is ambiguous: give a time like 2026-12-05T02:00, or "
                         f"+{inputs.shown(value)} for that long from now (--from)", field="from")


def parse_every(text: str) -> timedelta:
    """``--every``: how often a maintenance window recurs: 1d, 1w, 12h (at least an hour, at most 90 days)."""
    from fuseboard import inputs

    return inputs.duration(text, "--every", minimum=timedelta(hours=1), maximum=timedelta(days=90))


def silence(ws: Workspace, model: str, env: str, duration: timedelta, *, comment: str, actor: str, origin: str,
            check: str | None = None, now: datetime | None = None, starts_at: datetime | None = None,
            every: timedelta | None = None, source: str = "person") -> Silence:
    """Mute a deployment's alerts (one check, or all) for ``duration``; audited.

    ``starts_at`` (default now) may be later: a planned maintenance window. ``every`` repeats the
    window (weekly, say) until ``unsilence`` ends it; it must be at least as long as the window.
    Receivers are told at once of the open alerts it mutes ("silenced"), in the same transaction.
    """
    if not comment.strip():
        raise FuseboardError("a silence needs a comment saying why", field="comment")
    now = now or utcnow()
    start = starts_at or now
    if start < now - timedelta(minutes=1):
        raise FuseboardError("a silence cannot start in the past", field="from")
    if start > now + timedelta(days=365):
        raise FuseboardError("a silence starts within a year", field="from")
    if every is not None and every < duration:
        raise FuseboardError(f"--every must be at least as long as --for (the windows would overlap)", field="every")
    if every is not None and every < timedelta(hours=1):
        raise FuseboardError("a recurring window repeats at most hourly", field="every")
    with ws.transaction() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        item = Silence(model_id=m.id, environment_id=e.id, check=check, author=actor, comment=comment,
                       starts_at=start, ends_at=start + duration,
                       every_seconds=int(every.total_seconds()) if every is not None else None, source=source)
        s.add(item)
        after = {"check": check or "all", "from": start.isoformat(), "until": item.ends_at.isoformat()}
        if every is not None:
            after["every"] = f"{int(every.total_seconds())}s"
        s.flush()
        after["silence"] = item.id
        audit.record(s, at=now, actor=actor, origin=origin, action="alert.silence", target=f"{m.name}/{e.name}",
                     after=after, reason=comment)
        outbox.sync_alerts(s, now, deployments={(m.id, e.id)})
    return item


def unsilence(ws: Workspace, silence_id: int, *, actor: str, origin: str, reason: str = "",
              now: datetime | None = None) -> Silence:
    """End a silence (or a recurring maintenance window) now; audited. Ending one already over is a no-op.

    Receivers hear "unsilenced" for the open alerts it muted that no other silence mutes.
    """
    from fuseboard.monitoring.silences import next_occurrence

    now = now or utcnow()
    with ws.transaction() as s:
        item = s.get(Silence, silence_id)
        if item is None:
            raise NotFound(f"no silence {silence_id} (see `fuseboard alerts silences`)")
        if next_occurrence(item.starts_at, item.ends_at, item.every_seconds, item.cancelled_at, now) is None:
            return item
        item.cancelled_at = now
        s.add(item)
        m, e = s.get(Model, item.model_id), s.get(Environment, item.environment_id)
        audit.record(s, at=now, actor=actor, origin=origin, action="alert.unsilence", target=f"{m.name}/{e.name}",
                     before={"silence": item.id, "check": item.check or "all"}, after={"ended": now.isoformat()},
                     reason=reason)
        outbox.sync_alerts(s, now, deployments={(item.model_id, item.environment_id)})
    return item
