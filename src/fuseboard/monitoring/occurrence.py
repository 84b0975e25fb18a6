"""When a silence mutes: its occurrence at an instant, and the next one (pure, no database).

``monitoring.silences`` (the ORM reads) and ``monitoring.alerts_quick`` (the command line's fast
SQLite read) both use these, so a recurring maintenance window mutes the same alerts on either path.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def occurrence(starts_at: datetime, ends_at: datetime, every_seconds: int | None, cancelled_at: datetime | None,
               at: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence ``[start, end)`` of a silence that covers ``at``, or None.

    Parameters
    ----------
    starts_at, ends_at : datetime
        The first occurrence.
    every_seconds : int or None
        The period of a recurring window (at least the window's length), None for a one-off.
    cancelled_at : datetime or None
        From then on the silence mutes nothing (an occurrence in force is cut short there).
    at : datetime
        The instant asked about.
    """
    if cancelled_at is not None and at >= cancelled_at:
        return None
    if at < starts_at:
        return None
    start, end = starts_at, ends_at
    if every_seconds:
        period = timedelta(seconds=every_seconds)
        k = (at - starts_at) // period
        start, end = starts_at + k * period, ends_at + k * period
    if not start <= at < end:
        return None
    return start, min(end, cancelled_at) if cancelled_at is not None else end


def next_occurrence(starts_at: datetime, ends_at: datetime, every_seconds: int | None,
                    cancelled_at: datetime | None, at: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence in force at ``at``, else the next one to start, or None (over, or ended early)."""
    now = occurrence(starts_at, ends_at, every_seconds, cancelled_at, at)
    if now is not None:
        return now
    if at < starts_at:
        start, end = starts_at, ends_at
    elif every_seconds:
        period = timedelta(seconds=every_seconds)
        k = (at - starts_at) // period + 1
        start, end = starts_at + k * period, ends_at + k * period
    else:
        return None
    if cancelled_at is not None and start >= cancelled_at:
        return None
    return start, end
