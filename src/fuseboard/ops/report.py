"""Monitoring over time, for the faces: the checks as they were at a past time, and a deployment's
history period by period (``fuseboard check --at``, ``fuseboard report``).

Both read the stored windows only and write nothing: no alert opens or resolves, no check run is
recorded, no audit event is written. The verdicts are ``run_checks``'s over the windows read
(monitoring/checks.py, monitoring/replay.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.checks import DeploymentChecks
from fuseboard.monitoring.history import MAX_PERIODS
from fuseboard.monitoring.replay import DeploymentHistory, PeriodChecks
from fuseboard.store.db import Workspace

__all__ = ["MAX_PERIODS", "SMALLEST_PERIOD", "DeploymentChecks", "DeploymentHistory", "PeriodChecks", "checks_at",
           "report"]

SMALLEST_PERIOD = timedelta(minutes=5)  # a stored window: periods are whole numbers of them
LONGEST_PERIOD = timedelta(days=366)


def checks_at(ws: Workspace, at: datetime) -> list[DeploymentChecks]:
    """Every deployment's checks as they would have been at ``at`` (``monitoring.checks.checks_at``).

    Parameters
    ----------
    ws : Workspace
    at : datetime
        Aware.

    Returns
    -------
    results : list of DeploymentChecks
        One per deployment, as ``run_checks`` lists them; health is the result recorded then.
    """
    from fuseboard.monitoring.checks import checks_at as replayed

    return replayed(ws, at)


def report(ws: Workspace, model: str, environment: str, start: datetime, end: datetime,
           every: timedelta) -> DeploymentHistory:
    """``model``'s window-based checks in ``environment`` for each period of ``every`` from ``start`` to
    ``end`` (``monitoring.replay.replay``).

    Parameters
    ----------
    ws : Workspace
    model, environment : str
    start, end : datetime
        Aware; ``start < end``.
    every : timedelta
        A whole number of five-minute windows, at most a year; at most ``MAX_PERIODS`` periods.

    Returns
    -------
    history : DeploymentHistory

    Raises
    ------
    FuseboardError
        A period that is not whole windows, an end not after the start, too many periods, a model
        not deployed there (``NotFound``: no such model or environment).
    """
    from fuseboard.inputs import format_duration
    from fuseboard.monitoring.replay import replay

    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    if every < SMALLEST_PERIOD or every > LONGEST_PERIOD or every % SMALLEST_PERIOD:
        raise FuseboardError(f"a period of {format_duration(every)} is not a whole number of five-minute windows "
                             "between 5m and 366d, e.g. 1h, 1d or 1w", field="every")
    if end <= start:
        raise FuseboardError(f"the end {end:%Y-%m-%d %H:%M} UTC is not after the start {start:%Y-%m-%d %H:%M} UTC",
                             field="to")
    count = -(-(end - start) // every)
    if count > MAX_PERIODS:
        raise FuseboardError(f"{count:,} periods of {format_duration(every)} from {start:%Y-%m-%d} to {end:%Y-%m-%d}; "
                             f"a report has at most {MAX_PERIODS:,}: choose a longer period or a shorter range",
                             field="every")
    return replay(ws, model, environment, start, end, every)
