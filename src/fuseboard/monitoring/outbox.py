"""The outbox: every event the notification receivers get, written in the transaction of its change.

An alert that fires, is acknowledged, silenced, unsilenced, resolved, fires again after resolving
(``refired``) or is escalated, and every deploy, promotion and rollback with its outcome, adds one
``OutboxEvent`` row in the same transaction as the change itself: a change that rolls back leaves no
event, and an event is never lost because a process died after committing. ``monitoring.delivery``
then sends the rows to each receiver in order.

What receivers are told of an alert follows one rule (``sync_alerts``), kept on the alert as
``told``: nothing, open, silenced, resolved. An alert that opens under a silence is not announced
("fired" goes out when the silence ends, if it is still open); one announced and then silenced is
told "silenced", and "unsilenced" when the silence ends; "resolved" goes only to receivers that heard
of it. Bodies are plain JSON (``event``, ``id``, ``at`` and ``alert`` or ``change``): the generic
webhook receives them as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy import tuple_
from sqlmodel import Session, or_, select

from fuseboard.status import AlertState
from fuseboard.store.models import (Alert, CheckState, Environment, Model, ModelVersion, OutboxEvent, Rota,
                                    RotaShift, Team, utcnow)


class Kind(StrEnum):
    """What an outbox event reports (its ``kind`` column; the body's ``event`` is the part after the dot)."""

    FIRED = "alert.fired"
    ACKNOWLEDGED = "alert.acknowledged"
    SILENCED = "alert.silenced"
    UNSILENCED = "alert.unsilenced"
    RESOLVED = "alert.resolved"
    REFIRED = "alert.refired"
    ESCALATED = "alert.escalated"
    DEPLOY = "change.deploy"
    PROMOTE = "change.promote"
    ROLLBACK = "change.rollback"
    CHECKPOINT = "audit.checkpoint"

    @property
    def word(self) -> str:
        return self.value.split(".", 1)[1]


class AlertBody(TypedDict):
    """The alert in an alert event: what a receiver needs to page the right person."""

    id: int
    fingerprint: str  # model/environment/check: the same for every spell of the alert (PagerDuty's dedup_key)
    model: str
    environment: str
    check: str
    severity: str  # warn or crit
    state: str  # firing, acknowledged, resolved
    summary: str
    opened_at: str  # ISO 8601
    resolved_at: str | None
    criticality: str  # mission-critical or internal
    flaps: int
    runbook: str
    version: int | None  # the version deployed when the event was written
    team: str | None  # the owning team
    on_call: str | None  # its on-call person's handle at the time of the event
    value: float | None  # the check's measured value, where it has one
    threshold: float | None
    acknowledged_by: str | None
    actor: str  # who did it: a person, or "monitor"
    note: str  # the resolve note, the silence's comment, the escalation's reason
    silenced_until: NotRequired[str]
    escalated_to: NotRequired[str]


class ChangeBody(TypedDict):
    """A deploy, promotion or rollback in a change event."""

    model: str
    environment: str
    action: str  # deploy, promote, rollback
    outcome: str  # succeeded or failed
    from_version: int | None
    to_version: int
    actor: str
    reason: str
    rollout: int
    hook: str  # the hook's answer, one line
    team: str | None
    criticality: str


class Event(TypedDict):
    """An outbox row's body as every receiver gets it (the generic webhook: as JSON)."""

    event: str  # fired, acknowledged, ..., deploy, promote, rollback, audit.checkpoint
    id: str  # the event's id: the same on every retry, so a receiver can drop a duplicate
    at: str  # ISO 8601, when the change happened
    alert: NotRequired[AlertBody]
    change: NotRequired[ChangeBody]
    checkpoint: NotRequired[dict[str, Any]]


Told = Literal["open", "silenced", "resolved"]


def _add(session: Session, kind: Kind, key: str, body: Event, at: datetime) -> OutboxEvent:
    row = OutboxEvent(uid=body["id"], kind=kind.value, key=key, body=dict(body), at=at)
    session.add(row)
    return row


def _new_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def on_call_of(session: Session, team_id: int | None, at: datetime) -> tuple[str | None, str | None]:
    """The owning team's on-call person at ``at`` and the next one on its rota (handles, or None)."""
    from fuseboard.turns import now_and_next

    if team_id is None:
        return None, None
    rota = session.exec(select(Rota).where(Rota.team_id == team_id)).first()
    shifts = session.exec(select(RotaShift).where(RotaShift.team_id == team_id, RotaShift.ends_at > at)).all()
    try:
        current, following = now_and_next(rota, shifts, at)
    except Exception:  # noqa: BLE001  (a rota zone this host does not know: nobody, not a failed cycle)
        return None, None
    return (current.person if current else None), (following.person if following else None)


def _measure(details: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """A check's value and threshold, where its details name them."""
    details = details or {}

    def number(*names: str) -> float | None:
        for name in names:
            value = details.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        return None

    return number("value", "share", "drift_share", "latency_ms", "score"), number("threshold", "limit", "tolerance")


class Lookups:
    """What alert bodies read besides the alert, fetched for a batch of alerts at once: a monitor's
    first cycle tells of thousands, and an alert at a time cost ~16 ms each (a version row with its
    reference profile, a rota per alert)."""

    def __init__(self, session: Session, alerts: Collection[Alert], at: datetime) -> None:
        self.session, self.at = session, at
        keys = {(a.model_id, a.environment_id, a.check) for a in alerts}
        self.states: dict[tuple[int, int, str], CheckState] = {}
        models = sorted({k[0] for k in keys})
        for lo in range(0, len(models), 500):
            for state in session.exec(select(CheckState).where(CheckState.model_id.in_(models[lo:lo + 500]))):
                if (state.model_id, state.environment_id, state.check) in keys:
                    self.states[(state.model_id, state.environment_id, state.check)] = state
        versions = sorted({s.version_id for s in self.states.values()})
        self.versions: dict[int, int] = {}
        for lo in range(0, len(versions), 500):  # the numbers only, not the profiles
            self.versions.update(session.exec(select(ModelVersion.id, ModelVersion.version)
                                              .where(ModelVersion.id.in_(versions[lo:lo + 500]))).all())
        self._on_call: dict[int | None, str | None] = {}

    def on_call(self, team_id: int | None) -> str | None:
        if team_id not in self._on_call:
            self._on_call[team_id] = on_call_of(self.session, team_id, self.at)[0]
        return self._on_call[team_id]


def alert_body(session: Session, alert: Alert, *, actor: str, note: str, at: datetime,
               lookups: Lookups | None = None) -> AlertBody:
    lookups = lookups or Lookups(session, [alert], at)
    model = session.get(Model, alert.model_id)  # (the identity map keeps models, environments, teams)
    env = session.get(Environment, alert.environment_id)
    state = lookups.states.get((alert.model_id, alert.environment_id, alert.check))
    version = lookups.versions.get(state.version_id) if state is not None else None
    team = session.get(Team, model.owner_team_id) if model.owner_team_id else None
    on_call = lookups.on_call(model.owner_team_id)
    value, threshold = _measure(state.details if state is not None else None)
    return {"id": alert.id, "fingerprint": alert.fingerprint, "model": model.name, "environment": env.name,
            "check": alert.check, "severity": alert.severity, "state": alert.state, "summary": alert.summary,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "criticality": model.criticality, "flaps": alert.flaps or 0,
            "runbook": str((model.monitoring or {}).get("runbook", "")), "version": version,
            "team": team.name if team else None, "on_call": on_call, "value": value, "threshold": threshold,
            "acknowledged_by": alert.acknowledged_by, "actor": actor, "note": note}


def alert_event(session: Session, alert: Alert, kind: Kind, *, actor: str = "monitor", note: str = "",
                at: datetime | None = None, lookups: Lookups | None = None, **extra: str) -> OutboxEvent:
    """Add one alert event to the caller's transaction (and keep on the alert what receivers were told).

    ``lookups``: given by a caller telling of many alerts (``sync_alerts``), which has flushed them already.
    """
    at = at or utcnow()
    if lookups is None:
        session.flush()  # the alert's id
    body: Event = {"event": kind.word, "id": _new_id(), "at": at.isoformat(),
                   "alert": {**alert_body(session, alert, actor=actor, note=note, at=at, lookups=lookups),
                             **extra}}  # type: ignore[typeddict-item]
    told: dict[Kind, Told] = {Kind.FIRED: "open", Kind.REFIRED: "open", Kind.UNSILENCED: "open",
                              Kind.SILENCED: "silenced", Kind.RESOLVED: "resolved"}
    if kind in told:
        alert.told = told[kind]
        session.add(alert)
    return _add(session, kind, alert.fingerprint, body, at)


def sync_alerts(session: Session, now: datetime, *,
                deployments: Collection[tuple[int, int]] | None = None) -> list[OutboxEvent]:
    """Tell the receivers what changed about every alert since they were last told, in one pass.

    An open alert is "open" to the receivers unless a silence covers it now ("silenced"); the first
    time it is open to them they get "fired" ("refired" after it had resolved), and "silenced" /
    "unsilenced" as silences start and end. A resolved alert they heard of gets "resolved". Called in
    the transaction that changed the alerts or the silences (each monitor cycle, a silence, an
    unsilence). ``deployments``: only the alerts of these (model id, environment id) pairs (the
    shards a monitor checked), else every alert.
    """
    from fuseboard.monitoring.alert_view import muting
    from fuseboard.monitoring.silences import in_force

    query = select(Alert).where(or_(Alert.open_key.is_not(None), Alert.told.in_(["open", "silenced"])))
    if deployments is not None:
        if not deployments:
            return []
        query = query.where(tuple_(Alert.model_id, Alert.environment_id).in_(sorted(deployments)))
    session.flush()  # (new alerts get their ids, once for all)
    rows = session.exec(query.order_by(Alert.id)).all()
    if not rows:
        return []
    silence_of = muting(in_force(session, now))
    due: list[tuple[Alert, Kind, dict[str, Any]]] = []  # what to tell; most alerts, told already, need nothing
    for alert in rows:
        if alert.state == AlertState.RESOLVED:
            if alert.told in ("open", "silenced"):
                due.append((alert, Kind.RESOLVED, {"actor": alert.resolved_by or "monitor", "note": alert.note}))
            continue
        muted = silence_of(alert.model_id, alert.environment_id, alert.check)
        if muted is not None:
            if alert.told == "open":
                due.append((alert, Kind.SILENCED, {"actor": muted.author, "note": muted.comment,
                                                   "silenced_until": muted.ends_at.isoformat()}))
        elif alert.told in (None, "resolved"):
            due.append((alert, Kind.REFIRED if alert.told == "resolved" else Kind.FIRED, {}))
        elif alert.told == "silenced":
            due.append((alert, Kind.UNSILENCED, {}))
    if not due:
        return []
    lookups = Lookups(session, [alert for alert, _, _ in due], now)  # (read for those told only: 30,000 took 9 s)
    return [alert_event(session, alert, kind, at=now, lookups=lookups, **extra) for alert, kind, extra in due]


def change_event(session: Session, *, action: str, outcome: str, model: Model, environment: str,
                 from_version: int | None, to_version: int, actor: str, reason: str, rollout: int, hook: str,
                 at: datetime) -> OutboxEvent:
    """A deploy, promotion or rollback (succeeded or failed), in the transaction that records it."""
    kind = {"deploy": Kind.DEPLOY, "promote": Kind.PROMOTE, "rollback": Kind.ROLLBACK}[action]
    team = session.get(Team, model.owner_team_id) if model.owner_team_id else None
    body: Event = {"event": kind.word, "id": _new_id(), "at": at.isoformat(), "change": {
        "model": model.name, "environment": environment, "action": action, "outcome": outcome,
        "from_version": from_version, "to_version": to_version, "actor": actor, "reason": reason,
        "rollout": rollout, "hook": hook, "team": team.name if team else None, "criticality": model.criticality}}
    return _add(session, kind, f"{model.name}/{environment}", body, at)


def checkpoint_event(session: Session, checkpoint: dict[str, Any], at: datetime) -> OutboxEvent:
    """The audit chain's head, for the receivers that keep a copy of it off this host."""
    body: Event = {"event": Kind.CHECKPOINT.value, "id": _new_id(), "at": at.isoformat(), "checkpoint": checkpoint}
    return _add(session, Kind.CHECKPOINT, "audit", body, at)
