"""Leases in the database: who leads the monitors, which monitors are alive, who holds which shard.

Every lease is a row of ``Lease`` taken or renewed by a conditional UPDATE (atomic on SQLite and
PostgreSQL alike) and timed by the database server's clock (``database_now``), so hosts whose
clocks differ still agree on who holds what.

* ``monitor``: the leader, which runs what must run once per workspace (deliveries, retention,
  audit checkpoints, escalation);
* ``member:<hash>``: one per live monitor that shares the checks (``heartbeat``);
* ``shard:<k>``: a shard of the deployments (monitoring/shards.py), checked only by its holder
  (``claim``); the transaction that records a shard's checks confirms it is still held
  (``confirm``) and stamps the run (``stamp``), so none is checked twice in a period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from fuseboard.monitoring.shards import SHARDS, preferred
from fuseboard.store.db import Workspace, database_now
from fuseboard.store.models import Lease, ShardRun

LEASE = "monitor"
EXPIRED = datetime(2000, 1, 1, tzinfo=timezone.utc)  # a free lease row's expiry


class ShardsLost(RuntimeError):
    """A shard this monitor was checking is no longer its own (its lease expired and another took it)."""


def acquire_lease(ws: Workspace, holder: str, ttl: timedelta, *, now: datetime | None = None,
                  name: str = LEASE) -> bool:
    """Take or renew the lease ``name``; True when ``holder`` holds it afterwards."""
    with ws.engine.begin() as conn:
        now = now or database_now(conn)
        result = conn.execute(
            update(Lease)
            .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl, acquired_at=now)
        )
        if result.rowcount:
            return True
        exists = conn.execute(select(Lease.name).where(Lease.name == name)).first()
    if exists:
        return False
    try:
        with ws.engine.begin() as conn:
            conn.execute(Lease.__table__.insert().values(name=name, holder=holder, acquired_at=now,
                                                         expires_at=now + ttl))
        return True
    except IntegrityError:  # another process inserted it first
        return False


def release_lease(ws: Workspace, holder: str, *, name: str = LEASE) -> None:
    with ws.engine.begin() as conn:
        conn.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                     .values(expires_at=database_now(conn) - timedelta(seconds=1)))


def lease_holder(ws: Workspace, *, now: datetime | None = None, name: str = LEASE) -> str | None:
    """The live holder, or None when nobody holds an unexpired lease."""
    with ws.session() as s:
        now = now or database_now(s.connection())
        lease = s.get(Lease, name)
    return lease.holder if lease and lease.expires_at > now else None


def member_name(holder: str) -> str:
    """The membership lease of a monitor (lease names are short; holder ids may be long)."""
    return "member:" + hashlib.sha256(holder.encode()).hexdigest()[:24]


def shard_name(shard: int) -> str:
    return f"shard:{shard}"


def heartbeat(ws: Workspace, holder: str, ttl: timedelta, *, sharing: bool = True) -> list[str]:
    """Renew this monitor's membership (when it shares the checks); the live members' holders, sorted."""
    if sharing:
        acquire_lease(ws, holder, ttl, name=member_name(holder))
    with ws.engine.connect() as conn:
        now = database_now(conn)
        rows = conn.execute(select(Lease.holder).where(Lease.name.like("member:%"), Lease.expires_at > now))
        return sorted({r[0] for r in rows})


def _ensure_shard_rows(ws: Workspace) -> None:
    """Every shard's lease row exists (free), so that taking one is a conditional UPDATE."""
    with ws.engine.connect() as conn:
        have = {r[0] for r in conn.execute(select(Lease.name).where(Lease.name.like("shard:%")))}
    missing = [shard_name(k) for k in range(SHARDS) if shard_name(k) not in have]
    if not missing:
        return
    try:
        with ws.engine.begin() as conn:
            conn.execute(Lease.__table__.insert(), [dict(name=n, holder="", acquired_at=EXPIRED, expires_at=EXPIRED)
                                                    for n in missing])
    except IntegrityError:  # another monitor made them at the same moment
        pass


def held_shards(conn: Any, holder: str, now: datetime) -> set[int]:
    rows = conn.execute(select(Lease.name).where(Lease.name.like("shard:%"), Lease.holder == holder,
                                                 Lease.expires_at > now))
    return {int(r[0].split(":", 1)[1]) for r in rows}


def claim(ws: Workspace, holder: str, ttl: timedelta, want: int, *, members: Collection[str] = (),
          busy: Collection[int] = ()) -> set[int]:
    """Hold ``want`` shards: renew those held, let go of any beyond ``want`` (never one being checked,
    in ``busy``), take free ones (never held, or expired) up to ``want``. Returns the shards held.
    """
    _ensure_shard_rows(ws)
    with ws.engine.begin() as conn:
        now = database_now(conn)
        mine = held_shards(conn, holder, now)
        extra = sorted(mine - set(busy), reverse=True)[:max(0, len(mine) - want)]
        if extra:
            conn.execute(update(Lease).where(Lease.name.in_([shard_name(k) for k in extra]), Lease.holder == holder)
                         .values(expires_at=now - timedelta(seconds=1)))
            mine -= set(extra)
        if mine:
            conn.execute(update(Lease).where(Lease.name.in_([shard_name(k) for k in mine]), Lease.holder == holder)
                         .values(expires_at=now + ttl))
        for k in preferred(list(members), holder):
            if len(mine) >= want:
                break
            if k in mine:
                continue
            taken = conn.execute(update(Lease).where(Lease.name == shard_name(k), Lease.expires_at < now)
                                 .values(holder=holder, acquired_at=now, expires_at=now + ttl)).rowcount
            if taken:
                mine.add(k)
        return held_shards(conn, holder, now)


def release_shards(ws: Workspace, holder: str) -> None:
    """Let go of every shard and the membership at once (a monitor that stops), so others take them over now."""
    with ws.engine.begin() as conn:
        past = database_now(conn) - timedelta(seconds=1)
        conn.execute(update(Lease).where(Lease.holder == holder, Lease.name.like("shard:%") |
                                         (Lease.name == member_name(holder))).values(expires_at=past))


def confirm(conn: Any, holder: str, shards: Collection[int], ttl: timedelta) -> None:
    """In the transaction recording a shard's checks: the shards are still this monitor's (renewed);
    raises ``ShardsLost`` (the transaction then writes nothing) when one is not."""
    if not shards:
        return
    now = database_now(conn)
    renewed = conn.execute(update(Lease).where(Lease.name.in_([shard_name(k) for k in shards]),
                                               Lease.holder == holder, Lease.expires_at > now)
                           .values(expires_at=now + ttl)).rowcount
    if renewed != len(shards):
        raise ShardsLost(f"{len(shards) - renewed} of {len(shards)} shard(s) passed to another monitor; "
                         "their checks are left to it")


def last_runs(conn: Any, kind: str, shards: Collection[int]) -> dict[int, datetime]:
    """When ``kind`` last ran over each of ``shards`` (those that never ran are absent)."""
    if not shards:
        return {}
    rows = conn.execute(select(ShardRun.shard, ShardRun.ran_at).where(ShardRun.kind == kind,
                                                                      ShardRun.shard.in_(sorted(shards))))
    return {shard: ran_at for shard, ran_at in rows}


def stamp(conn: Any, kind: str, shards: Collection[int], at: datetime, holder: str) -> None:
    """Record that ``kind`` ran over ``shards`` at ``at`` (in the transaction of its results)."""
    known = set(last_runs(conn, kind, shards))
    fresh = [dict(kind=kind, shard=k, ran_at=at, holder=holder) for k in sorted(set(shards) - known)]
    if fresh:
        conn.execute(ShardRun.__table__.insert(), fresh)
    if known:
        conn.execute(update(ShardRun).where(ShardRun.kind == kind, ShardRun.shard.in_(sorted(known)))
                     .values(ran_at=at, holder=holder))
