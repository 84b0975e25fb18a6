"""Changing a handover, one audited transaction each: start, evidence, tick, submit, sign (and, once
both sides signed, the transfer of ownership), reject.

States (``HandoverState``): draft -> in_review -> transferred, or -> rejected (with a reason;
signatures cleared) -> in_review again. Any change to what was signed clears the signatures.
Every piece of evidence given is kept (``HandoverEvidence``: text, who, when). ``sign_plan`` says
before signing what a signature would mean, or exactly why it cannot be given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from fuseboard.errors import FuseboardError, NotFound, Refused
from fuseboard.ops import audit
from fuseboard.ops.handover.reading import HandoverView, ItemView, _current, _view
from fuseboard.ops.handover.templates import load_template, templates
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import (Handover, HandoverEvidence, HandoverItem, HandoverSignature, HandoverState, Model,
                                    Person, Team, utcnow)


def start(ws: Workspace, model: str, to_team: str, *, actor: str, origin: str, template: str | None = None,
          reason: str = "", now: datetime | None = None) -> HandoverView:
    """A draft handover of ``model`` to ``to_team`` from the template of its tier (or ``template``)."""
    now = now or utcnow()
    with ws.transaction() as s:
        m = lookup.model(s, model)
        t = lookup.team(s, to_team, "to_team")
        if _current(s, m) is not None:
            raise Refused(f"{model} already has a handover in progress (fuseboard handover show {model})")
        if m.owner_team_id == t.id:
            raise Refused(f"{to_team} already owns {model}")
        if m.owner_team_id is None and m.builder_team_id == t.id:
            raise Refused(f"{to_team} built {model}; hand it to the team that will operate it")
        name = template or m.criticality
        found = templates()
        if name not in found:
            raise FuseboardError(f"no checklist template {name!r} (have: {', '.join(found)})")
        spec = load_template(found[name])
        giving = m.owner_team_id or m.builder_team_id  # no operator yet: its builders hand it over
        h = Handover(model_id=m.id, from_team_id=giving, to_team_id=t.id, template=name, state=HandoverState.DRAFT,
                     created_by=actor, created_at=now, updated_at=now)
        s.add(h)
        s.flush()
        for n, item in enumerate(spec["items"]):
            s.add(HandoverItem(handover_id=h.id, position=n, key=item["key"], group=item["group"], text=item["text"],
                               help=item.get("help", ""), required=item.get("required", True),
                               verify=item.get("verify", "")))
        audit.record(s, action="handover.start", target=m.name, actor=actor, origin=origin,
                     after={"to": t.name, "template": name, "items": len(spec["items"])}, reason=reason, at=now)
        s.flush()
        return _view(s, h, now)


def _open_for_change(s: Session, model: str) -> tuple[Model, Handover]:
    m = lookup.model(s, model)
    h = _current(s, m)
    if h is None:
        raise NotFound(f"{model} has no handover in progress (fuseboard handover start {model} --to TEAM)")
    return m, h


def _item(s: Session, h: Handover, key: str) -> HandoverItem:
    it = s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id, HandoverItem.key == key)).first()
    if it is None:
        keys = [i.key for i in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id))]
        raise NotFound(f"no checklist item {key!r} (items: {', '.join(keys[:8])}{', …' if len(keys) > 8 else ''})")
    return it


def tick(ws: Workspace, model: str, key: str, *, actor: str, origin: str, evidence: str | None = None,
         done: bool = True, now: datetime | None = None) -> HandoverView:
    """Mark a manual item satisfied (with evidence: text or a link) or not; automatic items refuse."""
    now = now or utcnow()
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        it = _item(s, h, key)
        if it.verify:
            raise Refused(f"{key} is verified by fuseboard from the workspace ({it.verify}); it cannot be ticked")
        if evidence is not None:
            _give(s, h, it, evidence, actor, now)
        if done and not it.evidence:
            raise FuseboardError(f"{key} needs evidence first (text or a link)", field="evidence")
        it.checked_by, it.checked_at = (actor, now) if done else (None, None)
        s.add(it)
        _touch(s, h, now, clear_signatures=True)
        audit.record(s, action="handover.tick" if done else "handover.untick", target=m.name, actor=actor,
                     origin=origin, after={"item": key, "evidence": it.evidence}, at=now)
        s.flush()
        return _view(s, h, now)


def set_evidence(ws: Workspace, model: str, key: str, evidence: str, *, actor: str, origin: str,
                 now: datetime | None = None) -> HandoverView:
    """Record evidence for an item without ticking it."""
    now = now or utcnow()
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        it = _item(s, h, key)
        if it.verify:
            raise Refused(f"{key} is verified by fuseboard; its evidence comes from the workspace")
        _give(s, h, it, evidence, actor, now)
        _touch(s, h, now, clear_signatures=True)  # what was signed changed
        audit.record(s, action="handover.evidence", target=m.name, actor=actor, origin=origin,
                     after={"item": key, "evidence": it.evidence}, at=now)
        s.flush()
        return _view(s, h, now)


def _give(s: Session, h: Handover, it: HandoverItem, evidence: str, actor: str, now: datetime) -> None:
    """The item's evidence is now ``evidence``; a change is kept in its history (who gave it, when)."""
    text = evidence.strip()
    if text != it.evidence:
        s.add(HandoverEvidence(handover_id=h.id, item_key=it.key, text=text, given_by=actor, given_at=now))
    it.evidence = text
    s.add(it)


def _touch(s: Session, h: Handover, now: datetime, *, clear_signatures: bool) -> None:
    h.updated_at = now
    if h.state == HandoverState.DRAFT:
        h.state = HandoverState.IN_REVIEW
    if clear_signatures:  # what was signed changed
        for sig in s.exec(select(HandoverSignature).where(HandoverSignature.handover_id == h.id)):
            s.delete(sig)
    s.add(h)


def submit(ws: Workspace, model: str, *, actor: str, origin: str, now: datetime | None = None) -> HandoverView:
    """Put a draft or rejected handover (back) in review."""
    now = now or utcnow()
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        if h.state == HandoverState.IN_REVIEW:
            raise Refused(f"the handover of {model} is already in review")
        before = h.state
        h.state, h.updated_at = HandoverState.IN_REVIEW, now
        s.add(h)
        audit.record(s, action="handover.submit", target=m.name, actor=actor, origin=origin,
                     before={"state": before}, after={"state": HandoverState.IN_REVIEW}, at=now)
        s.flush()
        return _view(s, h, now)


def _person(s: Session, actor: str) -> Person | None:
    return s.exec(select(Person).where(Person.handle == actor)).first()


def _side(s: Session, h: Handover, actor: str) -> str:
    person = _person(s, actor)
    if person is None:
        raise Refused(f"{actor} is not a known person; sign-offs come from team members "
                      f"(your OS login name is who you are, unless the workspace allows FUSEBOARD_USER)")
    if h.from_team_id is not None and person.team_id == h.from_team_id:
        return "giving"
    if person.team_id == h.to_team_id:
        return "receiving"
    raise Refused(f"{actor} is in neither the giving nor the receiving team")


@dataclass
class SignPlan:
    """What signing would mean for ``actor`` now, or exactly why they cannot sign (``refusal``)."""

    view: HandoverView
    actor: str
    team: str | None  # the actor's team
    side: str | None  # the side they would sign for: giving or receiving
    refusal: str = ""  # why they cannot sign; empty when they can
    resubmit: bool = False  # rejected: signing puts it back in review first
    completes: bool = False  # this signature is the last one needed: ownership moves
    waiting_for: list[str] = field(default_factory=list)  # the sides still to sign after this one

    @property
    def satisfied(self) -> list[ItemView]:
        return [i for i in self.view.items if i.done]

    @property
    def open_required(self) -> list[ItemView]:
        return self.view.required_open

    @property
    def open_optional(self) -> list[ItemView]:
        return [i for i in self.view.items if not i.required and not i.done]


def _needed(h: Handover) -> set[str]:
    return {"receiving"} if h.from_team_id is None else {"giving", "receiving"}


def _plan(s: Session, h: Handover, view: HandoverView, actor: str) -> SignPlan:
    person = _person(s, actor)
    team = s.get(Team, person.team_id).name if person is not None and person.team_id else None
    side = None
    if person is not None and h.from_team_id is not None and person.team_id == h.from_team_id:
        side = "giving"
    elif person is not None and person.team_id == h.to_team_id:
        side = "receiving"
    plan = SignPlan(view, actor, team, side, resubmit=h.state == HandoverState.REJECTED)
    teams = f"{view.from_team} (giving) or {view.to_team} (receiving)" if view.from_team else \
        f"{view.to_team} (receiving)"
    neither = (f"the giving team ({view.from_team}) nor the receiving team ({view.to_team})" if view.from_team else
               f"the receiving team ({view.to_team})")
    if h.state == HandoverState.TRANSFERRED:
        plan.refusal = f"this handover is complete: {view.to_team} owns {view.model} since " \
                       f"{view.accepted_at:%Y-%m-%d}" if view.accepted_at else "this handover is complete"
    elif person is None:
        plan.refusal = (f"{actor} is not a known person; sign-offs come from members of {teams} "
                        f"(fuseboard people add; your OS login name is who you are, unless the workspace allows "
                        f"FUSEBOARD_USER)")
    elif side is None:
        plan.refusal = f"{actor} is in neither {neither}; {actor} is in {team or 'no team'}"
    elif view.required_open:
        plan.refusal = (f"{len(view.required_open)} required item(s) not satisfied yet: "
                        + ", ".join(i.key for i in view.required_open))
    elif side in view.signatures and not plan.resubmit:
        when = view.signed_at.get(side)
        plan.refusal = (f"the {side} side already signed ({view.signatures[side]})"
                        + (f" on {when:%Y-%m-%d %H:%M} UTC" if when else "")
                        + (f"; waiting for the {' and '.join(sorted(_needed(h) - set(view.signatures)))} side"
                           if _needed(h) - set(view.signatures) else ""))
    signed = set() if plan.resubmit else set(view.signatures)
    if side is not None:
        plan.waiting_for = sorted(_needed(h) - signed - {side})
        plan.completes = not plan.waiting_for
    return plan


def sign_plan(ws: Workspace, model: str, *, actor: str, now: datetime | None = None) -> SignPlan:
    """What ``actor`` signing the open handover of ``model`` would mean now, or why they cannot."""
    now, actor = now or utcnow(), audit.effective_actor(ws, actor)
    with ws.session() as s:
        m = lookup.model(s, model)
        h = _current(s, m) or _current(s, m, include_closed=True)
        if h is None:
            raise NotFound(f"{model} has no handover (fuseboard handover start {model} --to TEAM)")
        return _plan(s, h, _view(s, h, now), actor)


def sign(ws: Workspace, model: str, *, actor: str, origin: str, resubmit: bool = False,
         now: datetime | None = None) -> HandoverView:
    """Sign for your side; once both sides signed with every required item satisfied, ownership moves.

    A rejected handover is signed only with ``resubmit``: it goes back in review first (audited as
    a submit), as the sign dialog says."""
    now, actor = now or utcnow(), audit.effective_actor(ws, actor)
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        if h.state == HandoverState.REJECTED and not resubmit:
            raise Refused(f"the handover of {model} was rejected ({h.reason}); fix it, then submit it again "
                          f"(fuseboard handover submit {model}) and sign")
        view = _view(s, h, now)
        plan = _plan(s, h, view, actor)
        if plan.refusal:
            raise Refused(plan.refusal)
        side = _side(s, h, actor)
        if h.state == HandoverState.REJECTED:
            _touch(s, h, now, clear_signatures=True)
            audit.record(s, action="handover.submit", target=m.name, actor=actor, origin=origin,
                         before={"state": HandoverState.REJECTED}, after={"state": HandoverState.IN_REVIEW},
                         reason="signed after the rejection", at=now)
            view.signatures, view.signed_at = {}, {}
        s.add(HandoverSignature(handover_id=h.id, side=side, person=actor, signed_at=now))
        h.state, h.updated_at = HandoverState.IN_REVIEW, now
        audit.record(s, action="handover.sign", target=m.name, actor=actor, origin=origin, after={"side": side},
                     at=now)
        if set(view.signatures) | {side} >= _needed(h):
            for it in s.exec(select(HandoverItem).where(HandoverItem.handover_id == h.id,
                                                        HandoverItem.verify != "")):
                item = next(i for i in view.items if i.key == it.key)  # keep what was verified at acceptance
                it.evidence, it.checked_by, it.checked_at = item.evidence, "fuseboard", now if item.done else None
                s.add(it)
            audit.record(s, action="handover.accept", target=m.name, actor=actor, origin=origin,
                         after={"handover": h.id, "signed": {**view.signatures, side: actor}}, at=now)
            before = m.owner_team_id
            m.owner_team_id = h.to_team_id
            h.state, h.accepted_at = HandoverState.TRANSFERRED, now
            s.add(m)
            teams = {t.id: t.name for t in s.exec(select(Team))}
            audit.record(s, action="ownership.transfer", target=m.name, actor=actor, origin=origin,
                         before={"owner": teams.get(before)}, after={"owner": teams[h.to_team_id], "handover": h.id},
                         reason="handover accepted by both sides", at=now)
        s.add(h)
        s.flush()
        return _view(s, h, now)


def reject(ws: Workspace, model: str, reason: str, *, actor: str, origin: str,
           now: datetime | None = None) -> HandoverView:
    """The receiving side sends it back, with a reason; signatures are cleared."""
    now, actor = now or utcnow(), audit.effective_actor(ws, actor)
    if not reason.strip():
        raise FuseboardError("a rejection needs a reason", field="reason")
    with ws.transaction() as s:
        m, h = _open_for_change(s, model)
        if _side(s, h, actor) != "receiving":
            raise Refused("only the receiving team rejects a handover")
        if h.state == HandoverState.REJECTED:
            raise Refused(f"the handover of {model} is already rejected")
        h.state, h.reason = HandoverState.REJECTED, reason.strip()
        h.rejected_by, h.rejected_at = actor, now
        _touch(s, h, now, clear_signatures=True)
        h.state = HandoverState.REJECTED
        audit.record(s, action="handover.reject", target=m.name, actor=actor, origin=origin,
                     after={"state": HandoverState.REJECTED}, reason=reason, at=now)
        s.flush()
        return _view(s, h, now)

