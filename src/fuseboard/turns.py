"""Who is on call at an instant: weekly rotations, explicit shifts and overrides (pure lookups).

Precedence at any instant: an override, else an explicit shift, else the weekly rotation. No
database here: ``ops.oncall`` (the audited changes and the ORM reads) and ``ops.quick`` (the
command line's fast reads) pass in what they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fuseboard.errors import FuseboardError


@dataclass(frozen=True)
class Turn:
    """Someone on call from ``start`` to ``end`` (and why: rotation, shift or override)."""

    person: str
    start: datetime
    end: datetime
    source: str


def zone(name: str, field: str | None = "tz", what: str = "") -> ZoneInfo:
    """An IANA time zone by name (Europe/London); one clear line when there is no such zone (``field``:
    the input it came from, None for a stored one; ``what`` comes before the name in the message)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FuseboardError(f"{what}{name!r} is not a time zone; give an IANA name such as Europe/London "
                             "or UTC", field=field) from None


def _turn_start(first: datetime, index: int, length_days: int, tz: ZoneInfo) -> datetime:
    """When turn ``index`` starts: the first turn's local wall-clock time, ``index`` turns of days later."""
    wall = first.replace(tzinfo=None) + timedelta(days=index * length_days)
    return wall.replace(tzinfo=tz).astimezone(timezone.utc)


def rotation_turn(starts_at: datetime, length_days: int, members: Sequence[str], at: datetime,
                  tz: str = "UTC") -> Turn | None:
    """The rotation's turn covering ``at`` (None before it starts or without members).

    Turns hand over at the first turn's local time in ``tz``: a rota starting Monday 09:00
    Europe/London hands over at 09:00 London time in summer and in winter (so a turn that spans a
    clock change is an hour shorter or longer)."""
    if not members or at < starts_at or length_days < 1:
        return None
    zone_ = zone(tz, None, "rota time zone ")
    first = starts_at.astimezone(zone_)
    index = max(0, int((at.astimezone(zone_).replace(tzinfo=None) - first.replace(tzinfo=None))
                       // timedelta(days=length_days)))
    while index > 0 and _turn_start(first, index, length_days, zone_) > at:  # wall-clock estimate, off by a shift
        index -= 1
    while _turn_start(first, index + 1, length_days, zone_) <= at:
        index += 1
    start = _turn_start(first, index, length_days, zone_) if index else starts_at
    return Turn(members[index % len(members)], start, _turn_start(first, index + 1, length_days, zone_), "rotation")


def turn_at(rota: Any | None, shifts: Sequence[Any], at: datetime) -> Turn | None:
    """Who is on call at ``at``: an override, else a shift, else the rotation.

    ``rota``: an object with starts_at, length_days, members (or None); ``shifts``: objects with
    person, starts_at, ends_at, kind. A rotation turn is cut short where a shift or override
    takes over, so "until" is when the next person starts.
    """
    for kind in ("override", "shift"):
        covering = [s for s in shifts if s.kind == kind and s.starts_at <= at < s.ends_at]
        if covering:
            s = max(covering, key=lambda s: s.starts_at)  # the latest planned wins
            return Turn(s.person, s.starts_at, _cut(s.ends_at, shifts, at, kind), kind)
    turn = rotation_turn(rota.starts_at, rota.length_days, rota.members, at, getattr(rota, "tz", "UTC")) \
        if rota is not None else None
    if turn is None:
        return None
    return Turn(turn.person, turn.start, _cut(turn.end, shifts, at, "rotation"), "rotation")


def _cut(end: datetime, shifts: Sequence[Any], at: datetime, kind: str) -> datetime:
    """A turn ends early where another one that takes over starts (same or higher precedence)."""
    higher = {"rotation": ("shift", "override"), "shift": ("shift", "override"), "override": ("override",)}[kind]
    starts = [s.starts_at for s in shifts if s.kind in higher and at < s.starts_at < end]
    return min(starts, default=end)


def now_and_next(rota: Any | None, shifts: Sequence[Any], at: datetime) -> tuple[Turn | None, Turn | None]:
    """The turn covering ``at`` and the one after it (a different person or a new turn)."""
    current = turn_at(rota, shifts, at)
    probe = current.end if current is not None else _next_start(rota, shifts, at)
    following = turn_at(rota, shifts, probe) if probe is not None else None
    if following is not None and following.start < probe:  # it takes over at ``probe``, not before
        following = Turn(following.person, probe, following.end, following.source)
    return current, following


def _next_start(rota: Any | None, shifts: Sequence[Any], at: datetime) -> datetime | None:
    starts = [s.starts_at for s in shifts if s.starts_at > at]
    if rota is not None and rota.members and rota.starts_at > at:
        starts.append(rota.starts_at)
    return min(starts, default=None)


def on_call_line(team: str, people: Sequence[Any], rota: Any | None, shifts: Sequence[Any], now: datetime) -> str:
    """Who to call about a model owned by ``team``: its on-call person now (from its rota), else its people.

    ``people``: the team's members by name (objects with handle, name, phone); ``rota`` and
    ``shifts`` as ``turn_at`` takes them.
    """
    by_handle = {p.handle: p for p in people}
    try:
        turn = turn_at(rota, shifts, now)
    except FuseboardError as exc:  # a rota stored with a zone this host does not know: it must not stop a change
        return f"{team}: who is on call is unknown ({exc})"
    if turn is not None:
        p = by_handle.get(turn.person)
        contact = f" {p.name}" + (f" {p.phone}" if p and p.phone else "") if p else ""
        return f"{team}: {turn.person}{contact} (until {turn.end.astimezone():%a %H:%M})"
    contact = ", ".join(f"{p.name}" + (f" {p.phone}" if p.phone else "") for p in list(by_handle.values())[:2])
    return f"{team} (no rota)" + (f": {contact}" if contact else "")
