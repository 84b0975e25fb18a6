"""A deployment seen as an incident: what is wrong and since when, what changed around it, who to call,
the runbook, and whether a rollback is likely to help.

Everything is computed from what the workspace holds (check states and history, rollouts, the audit
trail, rotas, stored windows); nothing is probed. The console's incident view and
``fuseboard incident`` show the same ``Incident``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import alerts as alerts_mod
from fuseboard.monitoring import rollouts
from fuseboard.monitoring.checks import CheckResult, evaluate_drift, merged
from fuseboard.monitoring.triage import triage
from fuseboard.monitoring.settings import policy_for
from fuseboard.status import OPEN_ALERT_STATES, Status
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Alert, AuditEvent, CheckRun, CheckState, Deployment, Environment,
                                    Model, ModelVersion, Person, Rollout, Rota, RotaShift, Team, WindowProfile,
                                    utcnow)

CHECK_ORDER = ("health", "drift", "multivariate_drift", "prediction_drift", "estimated_performance", "performance",
               "quality", "staleness")
LOOKBACK = timedelta(hours=24)


class Verdict(StrEnum):
    LIKELY = "likely to help"
    UNLIKELY = "unlikely to help"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RollbackAdvice:
    """Whether rolling back to ``target_version`` is likely to clear the deployment's alert, and why."""

    verdict: Verdict
    target_version: int | None
    reasons: tuple[str, ...]
    check: str | None = None  # the alert it is about

    def line(self) -> str:
        """One line: ``rollback to v1: unlikely to help (the inputs drifted ...)``."""
        head = f"rollback to v{self.target_version}" if self.target_version is not None else "rollback"
        return f"{head}: {self.verdict.value}" + (f" ({self.reasons[0]})" if self.reasons else "")

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "target_version": self.target_version, "reasons": list(self.reasons),
                "check": self.check}


@dataclass(frozen=True)
class Contact:
    handle: str
    name: str
    phone: str
    until: datetime | None


@dataclass(frozen=True)
class Happening:
    """Something that changed around the incident: ``relative`` says when, against the alert."""

    at: datetime
    kind: str  # deploy, promote, rollback, hook failure, settings, register, known-good revoked, alert, ...
    text: str
    relative: str


@dataclass(frozen=True)
class CheckLine:
    check: str
    status: str
    summary: str
    since: datetime | None


@dataclass(frozen=True)
class Incident:
    model: str
    environment: str
    criticality: str
    serving_version: int | None
    alert_id: int | None
    started_at: datetime | None
    checks: tuple[CheckLine, ...]  # worst first
    changes: tuple[Happening, ...]  # oldest first
    owner_team: str | None
    on_call_now: Contact | None
    on_call_next: Contact | None
    runbook: str
    rollback: RollbackAdvice
    alert_check: str | None = None
    alert_severity: str | None = None
    alert_state: str | None = None
    flaps: int = 0
    went_live_at: datetime | None = None  # when the serving version went live here
    endpoint_url: str = ""
    open_alerts: tuple[int, ...] = field(default_factory=tuple)
    # is the drift hurting the model (monitoring/triage.py), from the checks' latest verdicts
    triage: dict[str, Any] = field(default_factory=lambda: {"verdict": "ok", "reasons": []})

    def as_dict(self) -> dict[str, Any]:
        def encode(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: encode(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [encode(v) for v in value]
            return value

        out = encode(asdict(self))
        out["rollback"] = self.rollback.as_dict()
        return out


# -- helpers ---------------------------------------------------------------------------------------

def span(delta: timedelta) -> str:
    """``3h 10m``, ``25m``, ``2d 4h``; under a minute ``<1m``."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "<1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def relative(at: datetime, anchor: datetime, what: str) -> str:
    """``3h 10m before drift fired`` / ``25m after drift fired`` (``what``: "drift fired", or "now")."""
    delta = at - anchor
    if abs(delta) < timedelta(minutes=1):
        return "just now" if what == "now" else f"as {what}"
    if what == "now":
        return f"{span(delta)} ago" if delta < timedelta(0) else f"in {span(delta)}"
    return f"{span(delta)} {'before' if delta < timedelta(0) else 'after'} {what}"


def _worst_alert(s: Session, m: Model, e: Environment) -> Alert | None:
    found = s.exec(select(Alert).where(Alert.model_id == m.id, Alert.environment_id == e.id,
                                       Alert.state.in_(OPEN_ALERT_STATES))).all()
    if not found:
        return None
    # among equally severe alerts, the one a rollback could clear comes first: a rollback is what the
    # verdict is about, and a model's age (staleness) does not change with the version serving
    return min(found, key=lambda a: (-Status.of(a.severity).rank, a.check == "staleness", a.opened_at, a.id))


def _hhmm(at: datetime, now: datetime) -> str:
    local = at.astimezone()
    return f"{local:%H:%M}" if local.date() == now.astimezone().date() else f"{local:%m-%d %H:%M}"


def _context(s: Session, model: str, env: str) -> tuple[Model, Environment, Deployment | None]:
    m = lookup.model(s, model)
    e = lookup.environment(s, env)
    dep = s.exec(select(Deployment).where(Deployment.model_id == m.id, Deployment.environment_id == e.id)).first()
    return m, e, dep


# -- will a rollback help? -------------------------------------------------------------------------

def _advice(s: Session, m: Model, e: Environment, dep: Deployment | None, alert: Alert | None,
            now: datetime, target: ModelVersion | None = None) -> RollbackAdvice:
    from fuseboard.ops.deploy import last_known_good

    if dep is None:
        return RollbackAdvice(Verdict.UNKNOWN, None, (f"nothing of {m.name} runs in {e.name}",))
    current = s.get(ModelVersion, dep.version_id)
    target = target or last_known_good(s, m, e, dep.version_id)
    check = alert.check if alert is not None else None
    if target is None:
        return RollbackAdvice(Verdict.UNKNOWN, None, (
            f"no known-good version older than v{current.version} to roll back to in {e.name}",), check)
    if alert is None:
        return RollbackAdvice(Verdict.UNKNOWN, target.version, (
            f"nothing is alerting on {m.name} in {e.name}, so there is nothing for a rollback to fix",), None)
    live = rollouts.current(s, m.id, e.id)
    went_live = live.finished_at if live is not None and live.finished_at else dep.deployed_at
    against: list[str] = []
    missing: list[str] = []
    support: list[str] = []
    v_now, v_to = f"v{current.version}", f"v{target.version}"

    # 1. did it start with the serving version?
    if alert.opened_at < went_live:
        against.append(f"the {check} alert opened at {_hhmm(alert.opened_at, now)}, before {v_now} went live "
                       f"at {_hhmm(went_live, now)}")
    else:
        before = s.exec(select(CheckRun).where(CheckRun.model_id == m.id, CheckRun.environment_id == e.id,
                                               CheckRun.check == check, CheckRun.at < went_live)
                        .order_by(CheckRun.at.desc(), CheckRun.id.desc())).first()
        if before is not None and Status.of(before.status).breach:
            was = s.get(ModelVersion, before.version_id)
            against.append(f"{check} was already {before.status} on v{was.version} before {v_now} went live "
                           f"(since {_hhmm(before.at, now)})")
        else:
            support.append(f"the {check} alert started {span(alert.opened_at - went_live)} after {v_now} went live")

    # 2. what the check itself says about the target
    if check == "staleness":
        against.append("staleness follows the model's retrain-by date, not the version serving")
    elif check == "quality":
        against.append("data quality is about the rows coming in (nulls, unseen values, ranges), which a rollback "
                       "does not change")
    elif check == "drift":
        verdict = _drift_against(s, m, e, dep, current, target, now)
        (against if verdict[0] == "against" else missing if verdict[0] == "missing" else support).append(verdict[1])
    elif check == "prediction_drift":  # comparable traffic: the scores moved with the inputs, or not
        kind, sentence = _drift_against(s, m, e, dep, current, target, now)
        if kind == "against":
            against.append(f"{sentence}: the scores moved with the inputs, which {v_to} would see as well")
        elif kind == "for":
            support.append(sentence)

    # 3. how the target fared on this check while it served here
    runs = s.exec(select(CheckRun).where(CheckRun.model_id == m.id, CheckRun.environment_id == e.id,
                                         CheckRun.check == check, CheckRun.version_id == target.id)
                  .order_by(CheckRun.at)).all()
    bad = [r for r in runs if Status.of(r.status).breach]
    if not runs:
        missing.append(f"no {check} check history for {v_to} in {e.name}")
    elif bad:
        worst = max(bad, key=lambda r: (Status.of(r.status).rank, r.at))
        if check == "health":
            against.append(f"the endpoint failed on {v_to} as well ({worst.status} at {_hhmm(worst.at, now)}: "
                           f"{worst.summary[:80]})")
        else:
            against.append(f"{check} was {worst.status} on {v_to} too (at {_hhmm(worst.at, now)})")
    elif not any(r.status == "ok" for r in runs):
        missing.append(f"no {check} verdict for {v_to} in {e.name} (too little data while it served)")
    else:
        support.append(f"{check} was ok on {v_to} while it served in {e.name}")

    if against:
        return RollbackAdvice(Verdict.UNLIKELY, target.version, tuple(against), check)
    if missing:
        return RollbackAdvice(Verdict.UNKNOWN, target.version, tuple(missing + support), check)
    return RollbackAdvice(Verdict.LIKELY, target.version, tuple(support), check)


def _drift_against(s: Session, m: Model, e: Environment, dep: Deployment, current: ModelVersion,
                   target: ModelVersion, now: datetime) -> tuple[str, str]:
    """Do the current windows drift against the target version's reference too? (kind, sentence)."""
    policy = policy_for(m.monitoring or {})
    window = policy.drift_window
    rows = s.exec(select(WindowProfile).where(WindowProfile.version_id == dep.version_id,
                                              WindowProfile.environment_id == e.id,
                                              WindowProfile.window_start >= now - window)).all()
    label = f"the last {span(window)}".replace("the last 1h", "the last hour")
    if not rows:
        return "missing", f"no windows in {label}"
    mine, theirs = current.reference_profile or {}, target.reference_profile or {}
    for name, ref in (mine.get("features") or {}).items():  # the windows are binned on the serving reference
        other = (theirs.get("features") or {}).get(name)
        if other is None or other.get("kind") != ref.get("kind") or other.get("edges") != ref.get("edges") or (
                (other.get("fine") or {}).get("edges") != (ref.get("fine") or {}).get("edges")):
            return "missing", (f"v{target.version} was profiled on other reference data than v{current.version}, "
                               "so the current windows cannot be compared with it")
    try:
        result = evaluate_drift(merged(list(rows), "features"), theirs, m.criticality, policy)
    except (KeyError, ValueError, TypeError) as exc:
        return "missing", f"cannot compare the current windows with v{target.version}'s reference ({exc})"
    if result.status == "none":
        return "missing", f"too few rows in {label} ({result.rows}) to compare with v{target.version}'s reference"
    if Status.of(result.status).breach:
        return "against", (f"the inputs drifted: {label}'s rows drift against v{target.version}'s reference too "
                           f"({result.summary})")
    return "for", f"{label}'s inputs match v{target.version}'s reference"


def advice_for(s: Session, m: Model, e: Environment, dep: Deployment | None, target: ModelVersion,
               now: datetime) -> RollbackAdvice:
    """The advice for rolling back to ``target`` (a planned rollback's), in the caller's session."""
    return _advice(s, m, e, dep, _worst_alert(s, m, e) if dep is not None else None, now, target)


def rollback_advice(ws: Workspace, model: str, env: str, *, now: datetime | None = None) -> RollbackAdvice:
    """Whether a rollback of ``model`` in ``env`` is likely to clear its worst open alert, with reasons."""
    now = now or utcnow()
    with ws.session() as s:
        m, e, dep = _context(s, model, env)
        return _advice(s, m, e, dep, _worst_alert(s, m, e) if dep is not None else None, now)


# -- the incident ----------------------------------------------------------------------------------

def _contacts(s: Session, m: Model, now: datetime) -> tuple[str | None, Contact | None, Contact | None]:
    from fuseboard.ops.oncall import now_and_next

    if m.owner_team_id is None:
        return None, None, None
    team = s.get(Team, m.owner_team_id)
    rota = s.exec(select(Rota).where(Rota.team_id == team.id)).first()
    shifts = s.exec(select(RotaShift).where(RotaShift.team_id == team.id,
                                            RotaShift.ends_at > now - timedelta(days=1))).all()
    people = {p.handle: p for p in s.exec(select(Person))}
    try:
        current, following = now_and_next(rota, shifts, now)
    except FuseboardError as exc:  # a rota zone this host does not know: the incident is shown all the same
        return f"{team.name} (who is on call is unknown: {exc})", None, None

    def contact(turn: Any) -> Contact | None:
        if turn is None:
            return None
        p = people.get(turn.person)
        return Contact(turn.person, p.name if p else turn.person, p.phone if p else "", turn.end)

    return team.name, contact(current), contact(following)


def _happenings(s: Session, m: Model, e: Environment, anchor: datetime, what: str, start: datetime,
                now: datetime, alert_id: int | None = None) -> list[Happening]:
    numbers = dict(s.exec(select(ModelVersion.id, ModelVersion.version).where(ModelVersion.model_id == m.id)).all())
    out: list[Happening] = []

    def add(at: datetime, kind: str, text: str) -> None:
        out.append(Happening(at, kind, text, relative(at, anchor, what)))

    live = rollouts.current(s, m.id, e.id)  # the serving version's arrival, however long ago
    for r in s.exec(select(Rollout).where(Rollout.model_id == m.id, Rollout.environment_id == e.id,
                                          ((Rollout.requested_at >= start) & (Rollout.requested_at <= now))
                                          | (Rollout.id == (live.id if live is not None else -1)))):
        to = f"v{numbers.get(r.to_version_id)}"
        was = f"v{numbers.get(r.from_version_id)}" if r.from_version_id else "nothing"
        by = f" by {r.requested_by}" + (f": {r.reason}" if r.reason else "")
        if r.state == "succeeded":
            text = (f"rolled back {was} -> {to}{by}" if r.action == "rollback"
                    else f"{to} went live ({r.action} from {was}{by})")
            add(r.finished_at or r.requested_at, r.action, text)
        elif r.state == "failed":
            add(r.finished_at or r.requested_at, "hook failure",
                f"{r.action} {was} -> {to} failed: hook said {r.hook_status}")
        elif r.state == "pending":
            add(r.requested_at, r.action, f"{r.action} {was} -> {to} in progress{by}")
        else:
            add(r.finished_at or r.requested_at, r.action, f"{r.action} {was} -> {to} {r.state}: {r.hook_status}")
    targets = {m.name, f"{m.name}/{e.name}", e.name}
    versions_prefix = f"{m.name}@"
    events = s.exec(select(AuditEvent).where(AuditEvent.at >= start, AuditEvent.at <= now,
                                             AuditEvent.action.in_(("monitoring.settings", "environment.settings",
                                                                    "model.update", "version.register",
                                                                    "rollout.known_good_revoked",
                                                                    "rollout.abandoned"))))
    for ev in events:
        if ev.target not in targets and not ev.target.startswith(versions_prefix):
            continue
        why = f": {ev.reason}" if ev.reason else ""
        if ev.action == "monitoring.settings" and ev.target == m.name:
            keys = sorted(k for k in set(ev.before) | set(ev.after) if ev.before.get(k) != ev.after.get(k))
            add(ev.at, "settings", f"monitoring settings changed by {ev.actor} ({', '.join(keys) or 'none'}){why}")
        elif ev.action == "environment.settings" and ev.target == e.name:
            keys = sorted(k for k in set(ev.before) | set(ev.after) if ev.before.get(k) != ev.after.get(k))
            add(ev.at, "settings", f"{e.name} settings changed by {ev.actor} ({', '.join(keys) or 'none'}){why}")
        elif ev.action == "model.update" and ev.target == m.name:
            add(ev.at, "settings", f"{m.name} changed by {ev.actor} ({', '.join(sorted(ev.after)) or 'none'}){why}")
        elif ev.action == "version.register":
            add(ev.at, "register", f"{ev.target.split('@', 1)[1]} registered by {ev.actor}")
        elif ev.action == "rollout.known_good_revoked" and ev.target == f"{m.name}/{e.name}":
            add(ev.at, "known-good revoked", f"v{ev.after.get('version')} no longer known-good here ({ev.reason})")
        elif ev.action == "rollout.abandoned" and ev.target == f"{m.name}/{e.name}":
            add(ev.at, "hook failure", f"a change was abandoned by {ev.actor}{why}")
    for a in s.exec(select(Alert).where(Alert.model_id == m.id, Alert.environment_id == e.id, Alert.opened_at >= start,
                                        Alert.opened_at <= now, Alert.id != (alert_id or -1))):
        add(a.opened_at, "alert", f"{a.severity} {a.check} alert opened: {a.summary[:120]}"
            + (f" (flapped {a.flaps}x since)" if a.flaps else ""))
    out.sort(key=lambda h: h.at)
    return out


def incident(ws: Workspace, model: str, env: str, *, now: datetime | None = None,
             lookback: timedelta = LOOKBACK) -> Incident:
    """``model`` in ``env`` as an incident (see the module's docstring); changes from ``lookback`` before
    its worst open alert started (or before now, with no alert) until now."""
    now = now or utcnow()
    with ws.session() as s:
        m, e, dep = _context(s, model, env)
        alert = _worst_alert(s, m, e)
        serving = s.get(ModelVersion, dep.version_id).version if dep is not None else None
        states = s.exec(select(CheckState).where(CheckState.model_id == m.id, CheckState.environment_id == e.id)).all()
        verdict = triage([CheckResult(c.check, c.status, c.summary, details=c.details or {}) for c in states])
        checks = sorted((CheckLine(c.check, c.status, c.summary, c.since) for c in states),
                        key=lambda c: (-Status.of(c.status).rank,
                                       CHECK_ORDER.index(c.check) if c.check in CHECK_ORDER else len(CHECK_ORDER)))
        anchor = alert.opened_at if alert is not None else now
        what = f"{alert.check} fired" if alert is not None else "now"
        changes = _happenings(s, m, e, anchor, what, anchor - lookback, now, alert.id if alert else None)
        owner, now_contact, next_contact = _contacts(s, m, now)
        live = rollouts.current(s, m.id, e.id)
        advice = _advice(s, m, e, dep, alert, now)
        open_ids = tuple(a.id for a in s.exec(select(Alert).where(
            Alert.model_id == m.id, Alert.environment_id == e.id, Alert.state.in_(OPEN_ALERT_STATES))
            .order_by(Alert.opened_at)))
        return Incident(
            m.name, e.name, m.criticality, serving, alert.id if alert else None, alert.opened_at if alert else None,
            tuple(checks), tuple(changes), owner, now_contact, next_contact,
            str((m.monitoring or {}).get("runbook", "")), advice,
            alert.check if alert else None, alert.severity if alert else None, alert.state if alert else None,
            (alert.flaps or 0) if alert else 0,
            (live.finished_at if live is not None else dep.deployed_at if dep is not None else None),
            dep.endpoint_url if dep is not None else "", open_ids, verdict.as_dict())


def alert_views(ws: Workspace, *, include_resolved: bool = False, now: datetime | None = None,
                limit: int = 500) -> list[alerts_mod.AlertView]:
    """``monitoring.alerts.list_alerts`` with who to call about each alert's model (``on_call``)."""
    from dataclasses import replace

    from fuseboard.ops.deploy import on_call

    views = alerts_mod.list_alerts(ws, include_resolved=include_resolved, now=now, limit=limit)
    calls: dict[str, str] = {}
    with ws.session() as s:
        for name in {v.model for v in views}:
            calls[name] = on_call(s, lookup.model(s, name), now)
    return [replace(v, on_call=calls.get(v.model, "")) for v in views]
