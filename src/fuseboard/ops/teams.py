"""Teams and people."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.ops import audit
from fuseboard.ops.names import check_name
from fuseboard.store.db import Workspace
from fuseboard.store.models import TEAM_KINDS, Handover, Model, Person, Team


def add_team(ws: Workspace, name: str, kind: str, *, actor: str, origin: str, description: str = "",
             reason: str = "") -> Team:
    check_name(name, "team")
    if kind not in TEAM_KINDS:
        raise FuseboardError(f"a team's kind must be one of {', '.join(TEAM_KINDS)}, not {kind!r}", field="kind")
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
        t = lookup.team(s, team, "team")
        if s.exec(select(Person).where(Person.handle == handle)).first() is not None:
            raise FuseboardError(f"a person with handle {handle!r} already exists")
        person = Person(handle=handle, name=name, email=email, phone=phone, team_id=t.id)
        s.add(person)
        audit.record(s, action="person.create", target=handle, actor=actor, origin=origin,
                     after={"name": name, "team": team}, reason=reason)
    return person


@dataclass(frozen=True)
class PersonInfo:
    """A person the workspace knows, with their team (None: in no team)."""

    handle: str
    name: str
    team: str | None
    email: str
    phone: str

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class ModelOwnership:
    """Who owns a model, and where its latest handover stands ("no handover": none started)."""

    model: str
    owner: str | None
    criticality: str
    handover_state: str


def people(ws: Workspace) -> list[PersonInfo]:
    """Everyone the workspace knows, by handle."""
    with ws.session() as s:
        teams = {t.id: t.name for t in s.exec(select(Team))}
        return [PersonInfo(p.handle, p.name, teams.get(p.team_id), p.email, p.phone)
                for p in s.exec(select(Person).order_by(Person.handle))]


def member_of(ws: Workspace, handle: str) -> tuple[bool, str | None]:
    """Whether ``handle`` is a person the workspace knows, and their team (None: none)."""
    with ws.session() as s:
        person = s.exec(select(Person).where(Person.handle == handle)).first()
        if person is None:
            return False, None
        team = s.get(Team, person.team_id) if person.team_id is not None else None
        return True, team.name if team is not None else None


def model_owners(ws: Workspace) -> list[ModelOwnership]:
    """Every model with its owning team and latest handover's state, by team then name."""
    with ws.session() as s:
        teams = {t.id: t.name for t in s.exec(select(Team))}
        latest: dict[int, str] = {}
        for h in s.exec(select(Handover).order_by(Handover.id)):
            latest[h.model_id] = h.state
        rows = [ModelOwnership(m.name, teams.get(m.owner_team_id), m.criticality, latest.get(m.id, "no handover"))
                for m in s.exec(select(Model))]
    return sorted(rows, key=lambda r: (r.owner or "~", r.model))


@dataclass(frozen=True)
class Identity:
    """Who the console acts as: a person the workspace knows (with their team), or nobody it knows."""

    handle: str
    known: bool
    team: str | None = None
    demo: bool = False  # the demo: its people may be played from the console (act as)

    @property
    def fix(self) -> str:
        """The one command that makes an unknown person known."""
        return f"fuseboard people add {self.handle} --name NAME --team TEAM"

    @property
    def line(self) -> str:
        """Who you are, in one line."""
        if self.known:
            return f"you act as {self.handle} ({self.team or 'no team'})"
        return (f"you ({self.handle}) are not a person this workspace knows: you cannot sign handovers; "
                f"fix: {self.fix}")


def identity(ws: Workspace, handle: str, *, demo: bool = False) -> Identity:
    """``handle`` as the workspace knows them (or not)."""
    known, team = member_of(ws, handle)
    return Identity(handle, known, team, demo)
