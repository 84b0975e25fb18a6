"""Retention: old five-minute windows become hourly profiles, old hourly ones daily profiles.

Window profiles merge exactly (counts add; means and variances combine), so compaction loses
nothing a check reads: a check over a day gives the same verdict before and after. Only whole
buckets older than the thresholds are compacted, each in one transaction, so a crash leaves
either the old windows or the new one, never both or neither. A year of history then costs
about 24 x 30 + 335 rows per deployment instead of 105,120.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

from sqlmodel import select

from fuseboard.monitoring import checks
from fuseboard.store import audit
from fuseboard.store.db import Workspace
from fuseboard.store.models import WindowProfile, utcnow

HOUR, DAY = 3600, 86400


@dataclass
class Retention:
    hourly_after: timedelta = timedelta(days=2)  # five-minute windows older than this become hours
    daily_after: timedelta = timedelta(days=35)  # hourly windows older than this become days
    delete_after: timedelta | None = None  # drop windows entirely after this (None: keep them)


DELETE_FLOOR = timedelta(days=1)  # never delete windows younger than this, whatever the checks need


@dataclass
class Floors:
    """The youngest windows compaction may touch: every check reads its whole window (drift the last
    hour, performance the last day, or what a model's settings say) from five-minute windows, so
    those stay until the longest window of any model has passed; deleting waits at least a day."""

    hourly_after: timedelta
    daily_after: timedelta
    delete_after: timedelta
    why: str  # which model's window sets the floor, as a user reads it


def floors(ws: Workspace) -> Floors:
    from fuseboard.monitoring.settings import policy_for
    from fuseboard.store.models import Model

    with ws.session() as s:
        models = s.execute(select(Model.name, Model.monitoring)).all()
    longest, why = timedelta(0), "the default check windows"
    for name, settings in [(None, {}), *models]:
        policy = policy_for(settings or {})
        for kind, window in (("drift", policy.drift_window), ("performance", policy.performance_window)):
            if window > longest:
                longest, why = window, f"{name}'s {kind} window" if name and settings else \
                    f"the default {kind} window"
    return Floors(longest, longest, max(longest, DELETE_FLOOR), why)


def span(delta: timedelta) -> str:
    """A duration in words: 40 minutes, 1 day, 2 days 3 hours."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((days, "day"), (hours, "hour"),
                                                                   (minutes, "minute")) if n]
    return " ".join(parts) or "0 minutes"


def below_floor(retention: Retention, floor: Floors) -> list[tuple[str, timedelta, timedelta]]:
    """Each setting that is younger than its floor: (option, asked, floor)."""
    asked = (("--hourly-after", retention.hourly_after, floor.hourly_after),
             ("--daily-after", retention.daily_after, floor.daily_after),
             ("--delete-after", retention.delete_after, floor.delete_after))
    return [(option, value, least) for option, value, least in asked if value is not None and value < least]


def clamped(retention: Retention, floor: Floors) -> Retention:
    """``retention`` with every setting raised to its floor (what the monitor's compaction uses)."""
    return Retention(max(retention.hourly_after, floor.hourly_after), max(retention.daily_after, floor.daily_after),
                     None if retention.delete_after is None else max(retention.delete_after, floor.delete_after))


@dataclass
class Deletion:
    """What deleting windows older than ``cutoff`` would remove."""

    cutoff: datetime
    windows: int
    rows: int  # the traffic rows those windows summarise
    deployments: int


def deletion(ws: Workspace, after: timedelta, *, now: datetime | None = None) -> Deletion:
    from sqlalchemy import func

    cutoff = (now or utcnow()) - after
    old = WindowProfile.window_start < cutoff
    with ws.session() as s:
        windows, rows = s.execute(select(func.count(), func.coalesce(func.sum(WindowProfile.rows), 0))
                                  .where(old)).one()
        deployments = s.execute(select(func.count()).select_from(
            select(WindowProfile.version_id, WindowProfile.environment_id).where(old).distinct().subquery())).scalar()
    return Deletion(cutoff, int(windows), int(rows), int(deployments or 0))


def _bucket(start: datetime, seconds: int) -> datetime:
    epoch = int(start.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


class Compaction(TypedDict):
    """What ``compact`` did: windows merged away, windows they were merged into, windows deleted."""

    merged: int
    created: int
    deleted: int


COMPACT_BATCH = 50  # deployments compacted per transaction: memory stays flat, writers wait little


def compact(ws: Workspace, *, now: datetime | None = None, retention: Retention | None = None,
            actor: str = "monitor", origin: str = "monitor", reason: str = "",
            audit_merges: bool = False) -> Compaction:
    """Delete windows past ``delete_after``, then merge old windows into hourly, then daily profiles;
    returns how many rows went and came.

    Every setting is raised to its floor (``floors``) first, so no caller can compact or delete a
    window a check still reads. Deletions are audited (``workspace.compacted``, with the counts and
    settings), and so are merges when ``audit_merges`` (a person ran it; the monitor's hourly pass
    would fill the trail). Deployments are compacted ``COMPACT_BATCH`` at a time, each batch in one
    transaction.
    """
    from sqlalchemy import delete, func

    now = now or utcnow()
    asked = retention or Retention()
    retention = clamped(asked, floors(ws))
    counts: Compaction = {"merged": 0, "created": 0, "deleted": 0}
    settings = {"hourly_after": span(retention.hourly_after), "daily_after": span(retention.daily_after),
                "delete_after": span(retention.delete_after) if retention.delete_after is not None else None}
    if retention.delete_after is not None:  # first: what goes is not merged in vain, and counts as asked
        cutoff = now - retention.delete_after
        with ws.transaction() as s:
            traffic = s.execute(select(func.coalesce(func.sum(WindowProfile.rows), 0))
                                .where(WindowProfile.window_start < cutoff)).scalar()
            gone = s.execute(delete(WindowProfile).where(WindowProfile.window_start < cutoff))
            counts["deleted"] += gone.rowcount or 0
            if counts["deleted"]:  # recorded with the deletion itself: never one without the other
                audit.record(s, actor=actor, origin=origin, action="workspace.compacted", target="windows",
                             after={"deleted": counts["deleted"], "rows": int(traffic or 0),
                                    "older_than": cutoff.isoformat(), **settings}, reason=reason)
    for source, target, after in ((None, HOUR, retention.hourly_after), (HOUR, DAY, retention.daily_after)):
        cutoff = _bucket(now - after, target)  # only whole buckets that ended before the threshold
        old = (WindowProfile.window_start < cutoff,
               WindowProfile.window_seconds < HOUR if source is None else WindowProfile.window_seconds == source)
        with ws.session() as s:
            pairs = s.execute(select(WindowProfile.version_id, WindowProfile.environment_id).where(*old)
                              .distinct().order_by(WindowProfile.version_id, WindowProfile.environment_id)).all()
        for lo in range(0, len(pairs), COMPACT_BATCH):
            batch = pairs[lo:lo + COMPACT_BATCH]
            with ws.transaction() as s:
                for version_id, env_id in batch:
                    _compact_deployment(s, version_id, env_id, old, target, now, counts)
    if audit_merges and counts["merged"]:
        with ws.transaction() as s:
            audit.record(s, actor=actor, origin=origin, action="workspace.compacted", target="windows",
                         after={"merged": counts["merged"], "created": counts["created"], **settings},
                         reason=reason)
    return counts


def _compact_deployment(s: Any, version_id: int, env_id: int, old: tuple[Any, ...], target: int, now: datetime,
                        counts: Compaction) -> None:
    groups: dict[datetime, list[WindowProfile]] = {}
    for row in s.exec(select(WindowProfile).where(WindowProfile.version_id == version_id,
                                                  WindowProfile.environment_id == env_id, *old)
                      .order_by(WindowProfile.window_start)):
        groups.setdefault(_bucket(row.window_start, target), []).append(row)
    for start, rows in groups.items():
        merged = s.exec(select(WindowProfile).where(
            WindowProfile.version_id == version_id, WindowProfile.environment_id == env_id,
            WindowProfile.window_start == start, WindowProfile.window_seconds == target)).first()
        if merged is None:
            merged = WindowProfile(model_id=rows[0].model_id, environment_id=env_id, version_id=version_id,
                                   window_start=start, window_seconds=target, rows=0, features={},
                                   predictions={}, performance={})
            counts["created"] += 1
        parts = [merged, *rows]  # merged as a check merges the windows it reads
        features, predictions = checks.merged(parts, "features"), checks.merged(parts, "predictions")
        perf = checks.merged_performance(parts)
        estimated = checks.merged_performance(parts, "estimated")
        total = sum(p.rows for p in parts)
        for row in rows:
            s.delete(row)
        s.flush()  # the old rows go before the new one takes a bucket they may share
        merged.features, merged.predictions, merged.performance, merged.rows = features, predictions, perf, total
        merged.estimated = estimated or None
        merged.updated_at = now
        s.add(merged)
        counts["merged"] += len(rows)


def containing_window(session: Any, version_id: int, environment_id: int, at: datetime) -> WindowProfile | None:
    """The window (five-minute, hourly or daily) of a version and environment that holds time ``at``."""
    for row in session.exec(select(WindowProfile).where(
            WindowProfile.version_id == version_id, WindowProfile.environment_id == environment_id,
            WindowProfile.window_start <= at, WindowProfile.window_start > at - timedelta(seconds=DAY))
            .order_by(WindowProfile.window_seconds)):
        if at < row.window_start + timedelta(seconds=row.window_seconds):
            return row
    return None
