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
from typing import Any

from sqlmodel import select

from fuseboard.monitoring import checks
from fuseboard.store.db import Workspace
from fuseboard.store.models import WindowProfile, utcnow

HOUR, DAY = 3600, 86400


@dataclass
class Retention:
    hourly_after: timedelta = timedelta(days=2)  # five-minute windows older than this become hours
    daily_after: timedelta = timedelta(days=35)  # hourly windows older than this become days
    delete_after: timedelta | None = None  # drop windows entirely after this (None: keep them)


def _bucket(start: datetime, seconds: int) -> datetime:
    epoch = int(start.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


COMPACT_BATCH = 50  # deployments compacted per transaction: memory stays flat, writers wait little


def compact(ws: Workspace, *, now: datetime | None = None, retention: Retention | None = None) -> dict[str, int]:
    """Merge old windows into hourly, then daily profiles; returns how many rows went and came.

    Deployments are compacted ``COMPACT_BATCH`` at a time, each batch in one transaction.
    """
    from sqlalchemy import delete

    now = now or utcnow()
    retention = retention or Retention()
    counts = {"merged": 0, "created": 0, "deleted": 0}
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
    if retention.delete_after is not None:
        with ws.transaction() as s:
            gone = s.execute(delete(WindowProfile).where(WindowProfile.window_start < now - retention.delete_after))
            counts["deleted"] += gone.rowcount or 0
    return counts


def _compact_deployment(s: Any, version_id: int, env_id: int, old: tuple[Any, ...], target: int, now: datetime,
                        counts: dict[str, int]) -> None:
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
        total = sum(p.rows for p in parts)
        for row in rows:
            s.delete(row)
        s.flush()  # the old rows go before the new one takes a bucket they may share
        merged.features, merged.predictions, merged.performance, merged.rows = features, predictions, perf, total
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
