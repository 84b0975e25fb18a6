"""The shift summary: what changed since the current on-call shift began (deploys, rollbacks, alerts
opened and resolved, handovers moved: each with its state now and its steps), people's actions apart
from fuseboard's own, repeats grouped."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from sqlmodel import select

from fuseboard.errors import Refused
from fuseboard.store.db import Workspace
from fuseboard.store.models import Environment, Handover, Model, Person, Team, utcnow


SHIFT_ACTIONS = ("deploy", "promote", "rollback", "deploy.failed", "promote.failed", "rollback.failed",
                 "gate.override", "alert.ack", "alert.resolve", "alert.silence", "alert.unsilence", "alert.escalate",
                 "handover.start", "handover.sign",
                 "handover.reject", "handover.submit", "handover.accept", "ownership.transfer",
                 "rollout.known_good", "rollout.known_good_revoked", "rollout.abandoned", "monitoring.settings",
                 "environment.settings")
HANDOVER_STEPS = {"handover.start": "started", "handover.submit": "submitted", "handover.sign": "signed",
                  "handover.reject": "rejected", "handover.accept": "accepted"}  # what moves a handover's state
MACHINE = ("monitor",)  # actors (and origins) that are fuseboard itself, not a person


class ShiftEvent(TypedDict):
    """An audited action in the shift, repeats grouped (times are ISO 8601 text, as ``--json`` prints them)."""

    at: str  # the first of them
    actor: str
    action: str
    target: str
    reason: str
    after: dict[str, Any]  # the audit event's ``after`` (free-form)
    machine: bool  # done by fuseboard itself (MACHINE), not a person
    count: int
    first: str
    last: str


class MachineGroup(ShiftEvent):
    """What fuseboard did by itself, one entry per actor and action, with what it did it to."""

    targets: list[str]


class ShiftHandover(TypedDict):
    """A handover that moved during the shift: where it stands now and each step, in time order."""

    model: str
    from_team: str | None
    to_team: str
    state: str  # now
    steps: list[str]  # "started by ana", "signed by ana (giving)", "rejected by chloe: no runbook", ...
    at: str  # the last step


class ShiftAlert(TypedDict):
    """An alert opened (or resolved) during the shift."""

    id: int
    model: str | None
    environment: str | None
    check: str
    severity: str
    summary: str
    opened_at: str
    resolved_at: str | None
    flaps: int
    at: str  # when it opened (what grouping orders by)
    times: int  # 1 + its flaps
    last_at: str  # when it last (re)opened


class AlertGroup(ShiftAlert):
    """Alerts opened, one entry per deployment, check and severity: how many times (flaps count) and when."""

    count: int
    first: str
    last: str
    targets: list[str]  # (empty: alerts have no ``target``)


def _grouped(items: Sequence[Mapping[str, Any]], key: Callable[[Any], Hashable]) -> list[dict[str, Any]]:
    """Repeats as one entry: the first's fields, ``count``, ``first``/``last`` times, and the ``targets``."""
    groups: dict[Any, dict[str, Any]] = {}
    for item in items:
        k = key(item)
        if k not in groups:
            groups[k] = {**item, "count": 0, "first": item["at"], "last": item["at"], "targets": []}
        g = groups[k]  # (an item may stand for several already: an alert that flapped, a group)
        g["count"] += item.get("times") or item.get("count") or 1
        g["first"] = min(g["first"], item.get("first") or item["at"])
        g["last"] = max(g["last"], item.get("last_at") or item.get("last") or item["at"])
        if item.get("target") and item["target"] not in g["targets"]:
            g["targets"].append(item["target"])
    return list(groups.values())


@dataclass
class ShiftSummary:
    team: str | None
    person: str | None
    since: datetime
    events: list[ShiftEvent]
    alerts_opened: list[ShiftAlert]
    alerts_resolved: list[ShiftAlert]
    still_open: int
    handovers: list[ShiftHandover] = field(default_factory=list)

    @property
    def people(self) -> list[ShiftEvent]:
        """What people did (acks, silences, resolves, deploys, rollbacks...), repeats grouped, in time order."""
        return [e for e in self.events if not e["machine"]]

    @property
    def machine(self) -> list[MachineGroup]:
        """What fuseboard did by itself (known-good marks, reconciled changes), grouped by action."""
        return cast("list[MachineGroup]", _grouped([e for e in self.events if e["machine"]],
                                                   lambda e: (e["actor"], e["action"])))

    @property
    def alerts_grouped(self) -> list[AlertGroup]:
        """Alerts opened, one entry per deployment, check and severity: how many times (flaps count) and when."""
        return cast("list[AlertGroup]", _grouped(self.alerts_opened,
                                                 lambda a: (a["severity"], a["model"], a["environment"], a["check"])))

    def as_dict(self) -> dict[str, Any]:
        return {"team": self.team, "on_call": self.person, "since": self.since.isoformat(), "events": self.events,
                "alerts_opened": self.alerts_opened, "alerts_resolved": self.alerts_resolved,
                "alerts_still_open": self.still_open, "people": self.people, "machine": self.machine,
                "alerts_opened_grouped": self.alerts_grouped, "handovers": self.handovers}


def shift_summary(ws: Workspace, team: str | None = None, *, since: datetime | None = None,
                  now: datetime | None = None, actor: str | None = None) -> ShiftSummary:
    """What changed since the start of the current on-call shift (of ``team``, else ``actor``'s team,
    else the first team with someone on call): deploys, rollbacks, alerts opened and resolved,
    handovers moved."""
    from fuseboard.ops.oncall import on_call
    from fuseboard.store.models import Alert, AuditEvent

    now = now or utcnow()
    person = None
    if team is None and actor is not None:
        with ws.session() as s:
            me = s.exec(select(Person).where(Person.handle == actor)).first()
            mine = s.get(Team, me.team_id) if me is not None and me.team_id is not None else None
        if mine is not None and any(c.team == mine.name and c.now is not None for c in on_call(ws, now)):
            team = mine.name
    if since is None:
        calls = [c for c in on_call(ws, now) if c.now is not None and (team is None or c.team == team)]
        if team is not None and not calls:
            raise Refused(f"nobody is on call for {team} now (fuseboard rota set {team} ...); use --since")
        if calls:
            team, person, since = calls[0].team, calls[0].now.person, calls[0].now.start
        else:
            since = now - timedelta(hours=12)
    with ws.session() as s:
        names = {m.id: m.name for m in s.exec(select(Model))}
        envs = {e.id: e.name for e in s.exec(select(Environment))}
        raw = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "target": e.target,
                "reason": e.reason, "after": e.after, "machine": e.actor in MACHINE or e.origin in MACHINE}
               for e in s.exec(select(AuditEvent).where(AuditEvent.at >= since, AuditEvent.action.in_(SHIFT_ACTIONS))
                               .order_by(AuditEvent.at))]
        # people first, then fuseboard's own; the same action on the same thing by the same one, grouped
        events = cast("list[ShiftEvent]", [{k: v for k, v in g.items() if k != "targets"}
                                           for g in _grouped(sorted(raw, key=lambda e: e["machine"]),
                                                             lambda e: (e["machine"], e["actor"], e["action"],
                                                                        e["target"]))])

        def alert(a: Alert) -> ShiftAlert:
            return {"id": a.id, "model": names.get(a.model_id), "environment": envs.get(a.environment_id),
                    "check": a.check, "severity": a.severity, "summary": a.summary,
                    "opened_at": a.opened_at.isoformat(),
                    "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
                    "flaps": a.flaps or 0, "at": a.opened_at.isoformat(), "times": 1 + (a.flaps or 0),
                    "last_at": (a.reopened_at or a.opened_at).isoformat()}

        opened = [alert(a) for a in s.exec(select(Alert).where((Alert.opened_at >= since) | (Alert.reopened_at >= since))
                                           .order_by(Alert.opened_at))]
        resolved = [alert(a) for a in s.exec(select(Alert).where(Alert.resolved_at >= since)
                                             .order_by(Alert.resolved_at))]
        still = len(s.exec(select(Alert.id).where(Alert.state.in_(("firing", "acknowledged")))).all())
        handovers = _handovers(s, since)
    return ShiftSummary(team, person, since, events, opened, resolved, still, handovers)


def _handovers(s: Any, since: datetime) -> list[ShiftHandover]:
    """The handovers whose state moved since ``since`` (started, submitted, signed, rejected, accepted)."""
    from fuseboard.store.models import AuditEvent

    steps: dict[str, list[Any]] = {}
    for e in s.exec(select(AuditEvent).where(AuditEvent.at >= since, AuditEvent.action.in_(tuple(HANDOVER_STEPS)))
                    .order_by(AuditEvent.at, AuditEvent.id)):
        steps.setdefault(e.target, []).append(e)
    teams = {t.id: t.name for t in s.exec(select(Team))}
    out: list[ShiftHandover] = []
    for model, events in steps.items():
        h = s.exec(select(Handover).join(Model, Model.id == Handover.model_id).where(Model.name == model)
                   .order_by(Handover.id.desc())).first()
        if h is None:
            continue
        said = []
        for e in events:
            step = f"{HANDOVER_STEPS[e.action]} by {e.actor}"
            if e.action == "handover.sign" and (e.after or {}).get("side"):
                step += f" ({e.after['side']})"
            if e.action == "handover.reject" and e.reason:
                step += f": {e.reason}"
            said.append(step)
        out.append({"model": model, "from_team": teams.get(h.from_team_id), "to_team": teams.get(h.to_team_id, "?"),
                    "state": h.state, "steps": said, "at": events[-1].at.isoformat()})
    return sorted(out, key=lambda x: x["at"])
