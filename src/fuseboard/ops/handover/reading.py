"""Reading a handover: its checklist with the automatic items re-checked, as a ``HandoverView``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from fuseboard.errors import NotFound
from fuseboard.ops.handover.verifiers import VERIFIERS
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (HANDOVER_OPEN, Handover, HandoverItem, HandoverSignature, HandoverState, Model,
                                    Team, utcnow)


@dataclass
class ItemView:
    key: str
    group: str
    text: str
    help: str
    required: bool
    auto: bool
    done: bool
    evidence: str
    checked_by: str | None
    checked_at: datetime | None


@dataclass
class HandoverView:
    id: int
    model: str
    criticality: str
    from_team: str | None
    to_team: str
    template: str
    state: str
    created_by: str
    created_at: datetime
    reason: str
    items: list[ItemView]
    signatures: dict[str, str]  # side -> person
    accepted_at: datetime | None = None

    @property
    def required_open(self) -> list[ItemView]:
        return [i for i in self.items if i.required and not i.done]

    @property
    def progress(self) -> tuple[int, int]:
        required = [i for i in self.items if i.required]
        return sum(i.done for i in required), len(required)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["accepted_at"] = self.accepted_at.isoformat() if self.accepted_at else None
        for item in out["items"]:
            item["checked_at"] = item["checked_at"].isoformat() if item["checked_at"] else None
        done, total = self.progress
        out["required_done"], out["required_total"] = done, total
        return out


def _current(s: Session, m: Model, *, include_closed: bool = False) -> Handover | None:
    stmt = select(Handover).where(Handover.model_id == m.id)
    if not include_closed:
        stmt = stmt.where(Handover.state.in_(HANDOVER_OPEN))
    return s.exec(stmt.order_by(Handover.id.desc())).first()


def _view(s: Session, h: Handover, now: datetime) -> HandoverView:
    m = s.get(Model, h.model_id)
    teams = {t.id: t.name for t in s.exec(select(Team))}
    items = []
    for it in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id).order_by(HandoverItem.position)):
        if it.verify and h.state != HandoverState.TRANSFERRED:  # re-checked whenever it is looked at
            verdict = VERIFIERS[it.verify](s, m, now)
            done, evidence, by, at = verdict.ok, verdict.evidence, "fuseboard", now
        else:
            done, evidence, by, at = it.checked_at is not None, it.evidence, it.checked_by, it.checked_at
        items.append(ItemView(it.key, it.group, it.text, it.help, it.required, bool(it.verify), done, evidence,
                              by, at))
    signatures = {x.side: x.person for x in s.exec(select(HandoverSignature)
                                                   .where(HandoverSignature.handover_id == h.id))}
    return HandoverView(h.id, m.name, m.criticality, teams.get(h.from_team_id), teams[h.to_team_id], h.template,
                        h.state, h.created_by, h.created_at, h.reason, items, signatures, h.accepted_at)


def show(ws: Workspace, model: str, now: datetime | None = None) -> HandoverView:
    """The model's open handover (else its latest one), with automatic items re-checked."""
    with ws.session() as s:
        m = lookup.model(s, model)
        h = _current(s, m) or _current(s, m, include_closed=True)
        if h is None:
            raise NotFound(f"{model} has no handover (fuseboard handover start {model} --to TEAM)")
        return _view(s, h, now or utcnow())


def open_handovers(ws: Workspace, now: datetime | None = None) -> list[HandoverView]:
    with ws.session() as s:
        return [_view(s, h, now or utcnow()) for h in
                s.exec(select(Handover).where(Handover.state.in_(HANDOVER_OPEN)).order_by(Handover.created_at))]

