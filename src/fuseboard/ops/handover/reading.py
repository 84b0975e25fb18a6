"""Reading a handover: its checklist with the automatic items re-checked, as a ``HandoverView``.

Each item carries what it asks and why (its rubric group), every piece of evidence given for it
(who, when; oldest first), who ticked it, and for the items fuseboard verifies: what it checked,
what it found and what would make it pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from fuseboard.errors import NotFound
from fuseboard.ops.handover.verifiers import CHECKS, VERIFIERS
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (HANDOVER_OPEN, Handover, HandoverEvidence, HandoverItem, HandoverSignature,
                                    HandoverState, Model, Team, utcnow)

# why an item is on the checklist: the ML Test Score rubric's groups, plus operational readiness
GROUP_WHY = {
    "data": "the ML Test Score's data tests: the features and data the model relies on are known and checked",
    "model": "the ML Test Score's model tests: the model is specified, reviewed and its limits are known",
    "infrastructure": "the ML Test Score's infrastructure tests: the model is validated and served "
                      "reproducibly, and can be rolled back",
    "monitoring": "the ML Test Score's monitoring tests: operations see when the model goes wrong in production",
    "operations": "operational readiness: whoever is on call can run and fix the model and reach its people",
}


@dataclass
class EvidenceEntry:
    """One piece of evidence given for an item: the text (or link), who gave it and when."""

    text: str
    by: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "by": self.by, "at": self.at.isoformat()}


@dataclass
class ItemView:
    key: str
    group: str
    text: str
    help: str
    required: bool
    auto: bool
    done: bool
    evidence: str  # the evidence now (for an automatic item: what fuseboard found)
    checked_by: str | None  # who ticked it ("fuseboard" for an automatic item), when
    checked_at: datetime | None
    history: list[EvidenceEntry] = field(default_factory=list)  # every piece of evidence given, oldest first
    why: str = ""  # the rubric group's reason for the item
    check: str = ""  # automatic items: what fuseboard checks
    fix: str = ""  # automatic items not satisfied: what would make it pass

    @property
    def given(self) -> EvidenceEntry | None:
        """Who gave the evidence held now, and when (None for an automatic item, or none given)."""
        return self.history[-1] if self.history and self.history[-1].text == self.evidence else None


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
    signed_at: dict[str, datetime] = field(default_factory=dict)  # side -> when
    rejected_by: str | None = None  # the latest rejection: who, when (and ``reason``)
    rejected_at: datetime | None = None

    @property
    def required_open(self) -> list[ItemView]:
        return [i for i in self.items if i.required and not i.done]

    @property
    def progress(self) -> tuple[int, int]:
        required = [i for i in self.items if i.required]
        return sum(i.done for i in required), len(required)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("created_at", "accepted_at", "rejected_at"):
            out[key] = out[key].isoformat() if out[key] else None
        out["signed_at"] = {k: v.isoformat() for k, v in self.signed_at.items()}
        for item, view in zip(out["items"], self.items):
            item["checked_at"] = item["checked_at"].isoformat() if item["checked_at"] else None
            item["history"] = [e.as_dict() for e in view.history]
            given = view.given
            item["evidence_by"], item["evidence_at"] = (given.by, given.at.isoformat()) if given else (None, None)
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
    history: dict[str, list[EvidenceEntry]] = {}
    for e in s.exec(select(HandoverEvidence).where(HandoverEvidence.handover_id == h.id)
                    .order_by(HandoverEvidence.id)):
        history.setdefault(e.item_key, []).append(EvidenceEntry(e.text, e.given_by, e.given_at))
    items = []
    for it in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id).order_by(HandoverItem.position)):
        check = fix = ""
        if it.verify:
            check = CHECKS.get(it.verify, it.verify)
        if it.verify and h.state != HandoverState.TRANSFERRED:  # re-checked whenever it is looked at
            verdict = VERIFIERS[it.verify](s, m, now)
            done, evidence, by, at = verdict.ok, verdict.evidence, "fuseboard", now
            fix = "" if verdict.ok else verdict.fix
        else:
            done, evidence, by, at = it.checked_at is not None, it.evidence, it.checked_by, it.checked_at
        items.append(ItemView(it.key, it.group, it.text, it.help, it.required, bool(it.verify), done, evidence,
                              by, at, history.get(it.key, []), GROUP_WHY.get(it.group, ""), check, fix))
    signed = list(s.exec(select(HandoverSignature).where(HandoverSignature.handover_id == h.id)))
    return HandoverView(h.id, m.name, m.criticality, teams.get(h.from_team_id), teams[h.to_team_id], h.template,
                        h.state, h.created_by, h.created_at, h.reason, items, {x.side: x.person for x in signed},
                        h.accepted_at, {x.side: x.signed_at for x in signed}, h.rejected_by, h.rejected_at)


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
