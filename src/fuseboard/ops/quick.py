"""The command line's fast reads: ``models``, ``alerts`` and ``history`` without SQLAlchemy.

Each entry function (``quick_models``, with ``quick_environment_names`` for its table's columns;
``quick_alerts``; ``quick_history``) takes the workspace URL and the options the normal opening
takes, and returns exactly the records the ORM views return (``ops.views.model_rows``,
``ops.incident.alert_views``, ``ops.views.rollout_history``), or None when the workspace must be
opened the normal way (``store.lite`` says when: a server database, a missing or degraded file,
another schema revision, any SQLite error). The statements are the ORM's, written out, so rows
that tie on their sort key come back in the same order. tests/integration/test_quick_reads.py
holds each pair side by side.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime

from fuseboard.clock import utcnow
from fuseboard.monitoring.alert_view import AlertView
from fuseboard.monitoring.alerts_quick import list_alerts_lite
from fuseboard.ops.records import ModelRow, RolloutInfo
from fuseboard.turns import on_call_line
from fuseboard.status import Status
from fuseboard.store.lite import json_value, reading, stamp, when


def quick_models(url: str, *, read_only: bool = False, group: str | None = None) -> list[ModelRow] | None:
    """``ops.views.model_rows`` over the workspace at ``url``; None: open it the normal way."""
    try:
        with reading(url, read_only=read_only, group=group) as conn:
            return None if conn is None else model_rows_lite(conn)
    except (sqlite3.Error, ValueError):
        return None


def quick_environment_names(url: str, *, read_only: bool = False, group: str | None = None) -> list[str] | None:
    """The environments' names in promotion order (``models``' table columns, as ``[e.name for e in
    ops.views.environments(ws)]``); None: open the workspace the normal way."""
    try:
        with reading(url, read_only=read_only, group=group) as conn:
            return None if conn is None else [name for (name,) in conn.execute(
                'SELECT environment.name \nFROM environment ORDER BY environment."order", environment.name')]
    except (sqlite3.Error, ValueError):
        return None


def quick_alerts(url: str, *, include_resolved: bool = False, now: datetime | None = None, limit: int = 500,
                 read_only: bool = False, group: str | None = None) -> list[AlertView] | None:
    """``ops.incident.alert_views`` (the alerts with who is on call) over the workspace at ``url``;
    None: open it the normal way."""
    try:
        with reading(url, read_only=read_only, group=group) as conn:
            return None if conn is None else alert_views_lite(conn, include_resolved=include_resolved, now=now,
                                                              limit=limit)
    except (sqlite3.Error, ValueError):
        return None


@dataclass(frozen=True)
class History:
    """What ``quick_history`` found: ``rollouts`` None when the model or environment is unknown."""

    rollouts: list[RolloutInfo] | None


def quick_history(url: str, model: str, env: str, limit: int = 100, *, read_only: bool = False,
                  group: str | None = None) -> History | None:
    """``ops.views.rollout_history`` over the workspace at ``url``, wrapped (its own None means an
    unknown name); None: open it the normal way."""
    try:
        with reading(url, read_only=read_only, group=group) as conn:
            return None if conn is None else History(rollout_history_lite(conn, model, env, limit))
    except (sqlite3.Error, ValueError):
        return None


def model_rows_lite(conn: sqlite3.Connection) -> list[ModelRow]:
    """One row per model, by name: owner, latest version, version per environment, health."""
    rows: dict[int, ModelRow] = {}
    for mid, name, task, crit, own, build, desc, last in conn.execute(
            "SELECT model.id, model.name, model.task, model.criticality, team_1.name AS name_1, team_2.name AS name_2, "
            "model.description, anon_1.latest \nFROM model LEFT OUTER JOIN team AS team_1 ON team_1.id = "
            "model.owner_team_id LEFT OUTER JOIN team AS team_2 ON team_2.id = model.builder_team_id LEFT OUTER JOIN "
            "(SELECT modelversion.model_id AS model_id, max(modelversion.version) AS latest \nFROM modelversion "
            "GROUP BY modelversion.model_id) AS anon_1 ON anon_1.model_id = model.id ORDER BY model.name"):
        rows[mid] = ModelRow(name, task, crit, own, build, desc, last)
    for mid, env, version in conn.execute(
            "SELECT deployment.model_id, environment.name, modelversion.version \nFROM deployment JOIN environment ON "
            "environment.id = deployment.environment_id JOIN modelversion ON modelversion.id = deployment.version_id"):
        if mid in rows:
            rows[mid].deployed[env] = version
    for mid, status in conn.execute("SELECT checkstate.model_id, checkstate.status \nFROM checkstate "
                                    "GROUP BY checkstate.model_id, checkstate.status"):
        row = rows.get(mid)
        if row is not None and Status.of(status) > Status.of(row.health):
            row.health = status
    return list(rows.values())


_ROLLOUTS = (
    "SELECT rollout.id, rollout.model_id, rollout.environment_id, rollout.action, rollout.from_version_id, "
    "rollout.to_version_id, rollout.state, rollout.requested_by, rollout.requested_at, rollout.reason, rollout.hook, "
    "rollout.hook_status, rollout.hook_output, rollout.finished_at, rollout.converged_at, rollout.known_good_at, "
    "rollout.ended_at, rollout.revoked_at, rollout.revoked_reason \nFROM rollout \nWHERE rollout.model_id = ? AND "
    "rollout.environment_id = ? ORDER BY rollout.requested_at DESC, rollout.id DESC\n LIMIT ? OFFSET ?")


def rollout_history_lite(conn: sqlite3.Connection, model: str, env: str, limit: int = 100) -> list[RolloutInfo] | None:
    """A deployment's rollouts, newest first (None when the model or environment is unknown)."""
    m = conn.execute("SELECT id FROM model WHERE model.name = ? LIMIT 1", (model,)).fetchone()
    e = conn.execute("SELECT id FROM environment WHERE environment.name = ? LIMIT 1", (env,)).fetchone()
    if m is None or e is None:
        return None
    versions = dict(conn.execute("SELECT id, version FROM modelversion WHERE modelversion.model_id = ?", (m[0],)))
    out = []
    for (id_, _m, _e, action, from_id, to_id, state, by, requested_at, reason, hook, hook_status, hook_output,
         finished_at, converged_at, known_good_at, ended_at, revoked_at, revoked_reason) in conn.execute(
            _ROLLOUTS, (m[0], e[0], limit, 0)):
        out.append(RolloutInfo(id_, action, versions.get(from_id), versions[to_id], state, by, when(requested_at),
                               when(finished_at), reason, hook, hook_status, hook_output, when(converged_at),
                               when(known_good_at), when(ended_at), when(revoked_at), revoked_reason))
    return out


@dataclass(frozen=True)
class _Person:
    handle: str
    name: str
    phone: str


@dataclass(frozen=True)
class _Rota:
    starts_at: datetime
    length_days: int
    members: list[str]
    tz: str


@dataclass(frozen=True)
class _Shift:
    person: str
    starts_at: datetime
    ends_at: datetime
    kind: str


def alert_views_lite(conn: sqlite3.Connection, *, include_resolved: bool = False, now: datetime | None = None,
                     limit: int = 500) -> list[AlertView]:
    """The alerts (``list_alerts_lite``) with who to call about each alert's model, as ``ops.incident.alert_views``."""
    views = list_alerts_lite(conn, include_resolved=include_resolved, now=now, limit=limit)
    if not views:
        return views
    at = now or utcnow()  # alert_views passes ``now`` on, and on_call reads the clock when it is None
    owners = dict(conn.execute("SELECT name, owner_team_id FROM model"))
    by_team: dict[int | None, str] = {}
    calls = {}
    for name in {v.model for v in views}:
        team_id = owners[name]
        if team_id not in by_team:
            by_team[team_id] = _on_call(conn, team_id, at)
        calls[name] = by_team[team_id]
    return [replace(v, on_call=calls.get(v.model, "")) for v in views]


def _on_call(conn: sqlite3.Connection, team_id: int | None, now: datetime) -> str:
    """``ops.deploy.on_call`` for a model owned by ``team_id``."""
    if team_id is None:
        return "no owning team"
    (team,) = conn.execute("SELECT name FROM team WHERE team.id = ?", (team_id,)).fetchone()
    people = [_Person(*row) for row in conn.execute(
        "SELECT person.handle, person.name, person.phone \nFROM person \nWHERE person.team_id = ? "
        "ORDER BY person.name", (team_id,))]
    rota = conn.execute("SELECT rota.starts_at, rota.length_days, rota.members, rota.tz \nFROM rota \n"
                        "WHERE rota.team_id = ?\n LIMIT ? OFFSET ?", (team_id, 1, 0)).fetchone()
    shifts = [_Shift(person, when(starts), when(ends), kind) for person, starts, ends, kind in conn.execute(
        "SELECT rotashift.person, rotashift.starts_at, rotashift.ends_at, rotashift.kind \nFROM rotashift \n"
        "WHERE rotashift.team_id = ? AND rotashift.ends_at > ?", (team_id, stamp(now)))]
    found = None if rota is None else _Rota(when(rota[0]), rota[1], json_value(rota[2]), rota[3])
    return on_call_line(team, people, found, shifts, now)
