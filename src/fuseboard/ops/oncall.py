"""Who is on call: weekly rotations, explicit shifts and overrides (audited changes, pure lookups).

Precedence at any instant: an override, else an explicit shift, else the weekly rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.ops import audit
from fuseboard.turns import Turn, now_and_next, rotation_turn, turn_at, zone  # noqa: F401  (imported from here)
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import SHIFT_KINDS, Person, Rota, RotaShift, Team, utcnow


# -- changes (audited) -----------------------------------------------------------------------

def _members_of(s: Any, team: Team, handles: Sequence[str], field: str) -> list[str]:
    people = {p.handle: p for p in s.exec(select(Person).where(Person.handle.in_(list(handles))))}
    for h in handles:
        if h not in people:
            raise FuseboardError(f"no person {h!r} (add them with `fuseboard people add`)", field=field)
        if people[h].team_id != team.id:
            raise FuseboardError(f"{h} is not in team {team.name}", field=field)
    return list(handles)


def set_rotation(ws: Workspace, team: str, members: Sequence[str], starts_at: datetime, *, length_days: int = 7,
                 tz: str = "UTC", actor: str, origin: str, reason: str = "") -> Rota:
    """Give ``team`` a rotation: ``members`` in turn, ``length_days`` each, from ``starts_at``, handing
    over at that instant's local time in ``tz`` (an IANA zone)."""
    zone(tz)
    if not members:
        raise FuseboardError("a rotation needs at least one member", field="members")
    if len(set(members)) != len(members):
        raise FuseboardError("the members list someone twice", field="members")
    if not 1 <= length_days <= 28:
        raise FuseboardError("a turn lasts between 1 and 28 days", field="length")
    with ws.transaction() as s:
        t = lookup.team(s, team, None)
        handles = _members_of(s, t, members, "members")
        rota = s.exec(select(Rota).where(Rota.team_id == t.id)).first()
        before = {"members": rota.members, "starts_at": rota.starts_at.isoformat(),
                  "length_days": rota.length_days, "tz": rota.tz} if rota else {}
        if rota is None:
            rota = Rota(team_id=t.id, starts_at=starts_at, length_days=length_days, members=handles, tz=tz)
        else:
            rota.starts_at, rota.length_days, rota.members, rota.tz = starts_at, length_days, handles, tz
        s.add(rota)
        audit.record(s, action="rota.set", target=t.name, actor=actor, origin=origin, before=before,
                     after={"members": handles, "starts_at": starts_at.isoformat(), "length_days": length_days,
                            "tz": tz}, reason=reason)
    return rota


def add_shift(ws: Workspace, team: str, person: str, starts_at: datetime, ends_at: datetime, *, kind: str = "shift",
              actor: str, origin: str, note: str = "") -> RotaShift:
    """Put ``person`` on call for ``team`` from ``starts_at`` to ``ends_at`` (an override wins over everything)."""
    if kind not in SHIFT_KINDS:
        raise FuseboardError(f"kind must be one of {', '.join(SHIFT_KINDS)}")
    if ends_at <= starts_at:
        raise FuseboardError("the end must be after the start", field="to")
    if ends_at - starts_at > timedelta(days=31):
        raise FuseboardError("a shift or override lasts at most 31 days (use a rotation for longer)")
    with ws.transaction() as s:
        t = lookup.team(s, team, None)
        _members_of(s, t, [person], "person")
        item = RotaShift(team_id=t.id, person=person, starts_at=starts_at, ends_at=ends_at, kind=kind, note=note)
        s.add(item)
        audit.record(s, action=f"rota.{kind}", target=t.name, actor=actor, origin=origin,
                     after={"person": person, "from": starts_at.isoformat(), "to": ends_at.isoformat()}, reason=note)
    return item


# -- reading -------------------------------------------------------------------------------

@dataclass
class OnCall:
    team: str
    kind: str
    has_rota: bool
    now: Turn | None
    next: Turn | None
    contact: dict[str, str]  # handle -> "Name, phone, email"

    def as_dict(self) -> dict[str, Any]:
        def turn(t: Turn | None) -> dict[str, Any] | None:
            return None if t is None else {"person": t.person, "from": t.start.isoformat(), "until": t.end.isoformat(),
                                           "source": t.source, "contact": self.contact.get(t.person, "")}
        return {"name": self.team, "kind": self.kind, "has_rota": self.has_rota, "on_call_now": turn(self.now),
                "on_call_next": turn(self.next)}


def on_call(ws: Workspace, at: datetime | None = None) -> list[OnCall]:
    """Every team with who is on call at ``at`` (default now) and next."""
    at = at or utcnow()
    with ws.session() as s:
        teams = s.exec(select(Team).order_by(Team.name)).all()
        rotas = {r.team_id: r for r in s.exec(select(Rota))}
        shifts: dict[int, list[RotaShift]] = {}
        for sh in s.exec(select(RotaShift).where(RotaShift.ends_at > at - timedelta(days=1))):
            shifts.setdefault(sh.team_id, []).append(sh)
        people = {p.handle: p for p in s.exec(select(Person))}
    out = []
    for t in teams:
        rota, own = rotas.get(t.id), shifts.get(t.id, [])
        current, following = now_and_next(rota, own, at)
        contact = {h: ", ".join(x for x in (p.name, p.phone, p.email) if x) for h, p in people.items()
                   if h in {x.person for x in (current, following) if x}}
        out.append(OnCall(t.name, t.kind, rota is not None or bool(own), current, following, contact))
    return out
