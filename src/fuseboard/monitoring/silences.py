"""Silences and maintenance windows: when each one mutes, and which are in force at an instant.

A silence mutes a deployment's alerts (one check, or all) from ``starts_at`` to ``ends_at``. It may
start later (a planned maintenance window) and recur (``every_seconds``: the same window again every
week, say) until someone ends it (``cancelled_at``). A deploy may open a short one of its own for the
environment's convergence time (``source`` "deploy").

The arithmetic is pure (``occurrence``); ``in_force`` reads the silences that may matter at an
instant and returns them as ``Window`` records whose ``starts_at``/``ends_at`` are the occurrence in
force, so that everything downstream (``alert_view.muting``, the faces) needs to know nothing of
recurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlmodel import Session, or_, select

from fuseboard.monitoring.occurrence import next_occurrence, occurrence
from fuseboard.store.db import Workspace
from fuseboard.store.models import Silence, utcnow


@dataclass(frozen=True)
class Window:
    """One silence's occurrence: in force now (``in_force``) or the next one (``upcoming``)."""

    id: int
    model_id: int
    environment_id: int
    check: str | None  # None: every check of the deployment
    author: str
    comment: str
    starts_at: datetime  # this occurrence
    ends_at: datetime
    every_seconds: int | None
    source: str  # "person" or "deploy"


def _window(x: Any, span: tuple[datetime, datetime]) -> Window:
    return Window(x.id, x.model_id, x.environment_id, x.check, x.author, x.comment, span[0], span[1],
                  x.every_seconds, x.source)


def _candidates(session: Session, at: datetime) -> Iterable[Silence]:
    """The silences that may be in force at ``at`` (one-offs covering it, and every recurring one)."""
    return session.exec(select(Silence).where(
        or_(Silence.cancelled_at.is_(None), Silence.cancelled_at > at), Silence.starts_at <= at,
        or_(Silence.every_seconds.is_not(None), Silence.ends_at > at)))


def in_force(session: Session, at: datetime) -> list[Window]:
    """Every silence muting something at ``at``, as the occurrence in force."""
    out = []
    for x in _candidates(session, at):
        span = occurrence(x.starts_at, x.ends_at, x.every_seconds, x.cancelled_at, at)
        if span is not None:
            out.append(_window(x, span))
    return out


def upcoming(session: Session, at: datetime) -> list[Window]:
    """Every silence in force at ``at`` or still to come, as its current or next occurrence, soonest first."""
    out = []
    for x in session.exec(select(Silence).where(or_(Silence.cancelled_at.is_(None), Silence.cancelled_at > at),
                                                or_(Silence.every_seconds.is_not(None), Silence.ends_at > at))):
        span = next_occurrence(x.starts_at, x.ends_at, x.every_seconds, x.cancelled_at, at)
        if span is not None:
            out.append(_window(x, span))
    return sorted(out, key=lambda w: (w.starts_at, w.id))


@dataclass(frozen=True)
class SilenceView:
    """A silence as the faces list it (``alerts silences``, the console's Alerts screen)."""

    id: int
    model: str
    environment: str
    check: str | None
    author: str
    comment: str
    starts_at: datetime  # the occurrence in force, or the next one
    ends_at: datetime
    every: str  # "1w", "1d" ... ("" for a one-off)
    source: str
    active: bool  # in force now

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "environment": self.environment, "check": self.check,
                "author": self.author, "comment": self.comment, "starts_at": self.starts_at.isoformat(),
                "ends_at": self.ends_at.isoformat(), "every": self.every or None, "source": self.source,
                "active": self.active}


def listed(ws: Workspace, *, now: datetime | None = None) -> list[SilenceView]:
    """Silences in force and maintenance windows to come, soonest first."""
    from fuseboard.inputs import format_duration
    from fuseboard.store.models import Environment, Model

    now = now or utcnow()
    with ws.session() as s:
        windows = upcoming(s, now)
        models = dict(s.exec(select(Model.id, Model.name)).all())
        envs = dict(s.exec(select(Environment.id, Environment.name)).all())
    return [SilenceView(w.id, models.get(w.model_id, "?"), envs.get(w.environment_id, "?"), w.check, w.author,
                        w.comment, w.starts_at, w.ends_at,
                        format_duration(timedelta(seconds=w.every_seconds)) if w.every_seconds else "", w.source,
                        w.starts_at <= now) for w in windows]
