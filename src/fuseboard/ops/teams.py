"""Teams and people."""

from __future__ import annotations

from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.ops import audit
from fuseboard.ops.names import check_name
from fuseboard.store.db import Workspace
from fuseboard.store.models import TEAM_KINDS, Person, Team


def add_team(ws: Workspace, name: str, kind: str, *, actor: str, origin: str, description: str = "",
             reason: str = "") -> Team:
    check_name(name, "team")
    if kind not in TEAM_KINDS:
        raise FuseboardError(f"--kind must be one of {', '.join(TEAM_KINDS)}, not {kind!r}")
    with ws.transaction() as s:
        if s.exec(select(Team).where(Team.name == name)).first() is not None:
            raise FuseboardError(f"a team named {name!r} already exists")
        team = Team(name=name, kind=kind, description=description)
        s.add(team)
        audit.record(s, action="team.create", target=name, actor=actor, origin=origin,
                     after={"kind": kind}, reason=reason)
    return team


def add_person(ws: Workspace, handle: str, name: str, team: str, *, actor: str, origin: str,
               email: str = "", phone: str = "", reason: str = "") -> Person:
    from fuseboard.store import lookup

    check_name(handle, "person")
    with ws.transaction() as s:
        t = lookup.team(s, team, "--team")
        if s.exec(select(Person).where(Person.handle == handle)).first() is not None:
            raise FuseboardError(f"a person with handle {handle!r} already exists")
        person = Person(handle=handle, name=name, email=email, phone=phone, team_id=t.id)
        s.add(person)
        audit.record(s, action="person.create", target=handle, actor=actor, origin=origin,
                     after={"name": name, "team": team}, reason=reason)
    return person
