"""History: stored windows grouped into periods, each period's windows merged, the window a check read
named in its summary, and the rows an ingest brought that the checks of now will not read.

Pure: window profiles (plain dicts, as stored) and period bounds in, merged profiles out; no
database. ``replay.py`` reads the windows and runs the checks over each period.

``generic_columns`` and ``generic_performance`` are the checks' merge of decoded windows
(``window_merge.merge_all``, ``performance.merge``); stored windows are merged from their blobs by
packed_merge.py, which falls back on these for windows that are not alike.

It also says which window a check read, in words every summary ends with (``window_phrase``), and
counts a batch's rows that fall before the check windows (``outside_windows``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, TypedDict

from fuseboard.monitoring import performance
from fuseboard.monitoring.result import CheckResult, span
from fuseboard.monitoring.shapes import NoLabels, PerformanceProfile, WindowColumns, WindowFeature
from fuseboard.monitoring.window_merge import merge_all

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["MAX_PERIODS", "OutsideWindows", "Period", "generic_columns", "generic_performance", "group_by_period",
           "name_window", "outside_windows", "periods", "window_phrase"]

MAX_PERIODS = 10_000  # rows a report may have (a year of hours is 8,760)


# -- periods ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """One row of a report: the windows that start in ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def periods(start: datetime, end: datetime, every: timedelta) -> list[Period]:
    """``[start, end)`` cut into periods of ``every`` from ``start`` on; the last one ends at ``end``.

    Parameters
    ----------
    start, end : datetime
        Aware; ``start < end``.
    every : timedelta
        Positive.

    Returns
    -------
    periods : list of Period, ``ceil((end - start) / every)`` entries

    Raises
    ------
    ValueError
        ``end`` not after ``start``, ``every`` not positive, or more than ``MAX_PERIODS`` periods.
    """
    if every <= timedelta(0):
        raise ValueError("the period must be positive")
    if end <= start:
        raise ValueError("the end must be after the start")
    count = -(-(end - start) // every)
    if count > MAX_PERIODS:
        raise ValueError(f"{count:,} periods; at most {MAX_PERIODS:,}")
    return [Period(start + i * every, min(end, start + (i + 1) * every)) for i in range(count)]


def group_by_period(starts: np.ndarray, bounds: Sequence[Period]) -> list[np.ndarray]:
    """The windows of each period: positions of the ``starts`` within ``[period.start, period.end)``.

    Parameters
    ----------
    starts : ndarray of shape (n_windows,), int64
        Window starts in epoch seconds, ascending.
    bounds : sequence of Period, n_periods entries
        Consecutive, ascending.

    Returns
    -------
    groups : list of ndarray of intp, n_periods entries
        Ascending positions into ``starts`` (possibly empty).
    """
    import numpy as np

    if not bounds:
        return []
    edges = np.array([int(p.start.timestamp()) for p in bounds] + [int(bounds[-1].end.timestamp())], dtype=np.int64)
    cut = np.searchsorted(starts, edges, side="left")
    return [np.arange(cut[i], cut[i + 1]) for i in range(len(bounds))]


# -- naming the window read ------------------------------------------------------------------------

_LAST = re.compile(r"in the last [0-9]+[smhdw]")


def window_phrase(length: timedelta, end: datetime, *, live: bool) -> str:
    """Which window a check read: ``in the last 1h`` (up to now) or ``in the 1h to 2026-03-01 14:00 UTC``."""
    if live:
        return f"in the last {span(length)}"
    return f"in the {span(length)} to {end.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def name_window(result: CheckResult, phrase: str) -> CheckResult:
    """``result`` whose summary names the window read: its own "in the last ..." becomes ``phrase``, or
    ``phrase`` is added at the end."""
    summary, found = _LAST.subn(phrase, result.summary, count=1)
    result.summary = summary if found else f"{result.summary}; {phrase}"
    return result


# -- merging window columns ------------------------------------------------------------------------

def generic_columns(columns: Sequence[WindowColumns]) -> WindowColumns:
    """The windows' columns merged one by one (``window_merge.merge_all``), as the checks always did.

    Parameters
    ----------
    columns : sequence of WindowColumns
        The windows' ``features`` (or ``predictions``), oldest first.

    Returns
    -------
    merged : WindowColumns
        One profile per name, in the order names first appear.
    """
    by_name: dict[str, list[WindowFeature]] = {}
    for window in columns:
        for name, profile in window.items():
            by_name.setdefault(name, []).append(profile)
    return {name: merge_all(profiles) for name, profiles in by_name.items()}


# -- merging performance ---------------------------------------------------------------------------

def generic_performance(profiles: Sequence[PerformanceProfile | NoLabels]) -> PerformanceProfile | NoLabels:
    """The windows' performance merged one by one (``performance.merge``), as the checks always did;
    ``{}`` without labels."""
    out: PerformanceProfile | NoLabels = {}
    for profile in profiles:
        if profile:
            out = performance.merge(out, profile) if out else profile
    return out


# -- rows the checks will not read -----------------------------------------------------------------

class OutsideWindows(TypedDict):
    """How many of a batch's rows fall before the windows the checks read now (ingest says so)."""

    drift_window: str  # the model's drift window, e.g. "1h"
    older_than_drift_window: int  # rows whose window starts before now - drift window
    performance_window: str  # e.g. "1d"
    older_than_performance_window: int


def outside_windows(starts: Sequence[int], sizes: Sequence[int], now: datetime, drift_window: timedelta,
                    performance_window: timedelta) -> OutsideWindows:
    """The rows of a batch's windows that the checks at ``now`` do not read: a window is read while it
    starts within the check's window before now (``checks.run_checks``).

    Parameters
    ----------
    starts : sequence of int, n_windows entries
        Window starts, epoch seconds.
    sizes : sequence of int, n_windows entries
        Rows in each window.
    now : datetime
        Aware.
    drift_window, performance_window : timedelta
        The model's.

    Returns
    -------
    outside : OutsideWindows
    """
    stamp = now.timestamp()
    drift_from, performance_from = stamp - drift_window.total_seconds(), stamp - performance_window.total_seconds()
    return {"drift_window": span(drift_window),
            "older_than_drift_window": int(sum(n for s, n in zip(starts, sizes) if s < drift_from)),
            "performance_window": span(performance_window),
            "older_than_performance_window": int(sum(n for s, n in zip(starts, sizes) if s < performance_from))}
