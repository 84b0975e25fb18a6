"""Replay: the window-based checks over each period of one deployment's stored history.

``replay`` reads a deployment's windows between two times once, groups them into periods (an
hour, a day, a week...), merges each period's windows straight from their stored blobs
(packed_merge.py: a matrix sum per period, no dict per window) and gives each period the
verdicts ``run_checks`` would give over that period's windows
(``checks.window_checks``: drift, multivariate drift, prediction drift, estimated and measured
performance, and quality), every summary
naming the period it read. Nothing is written. ``fuseboard report`` shows it.

Each period reads the windows of one version: the one whose window came last in the period (a
deploy inside a period leaves the windows of the version before it unread, and the period says
how many rows that was), as ``checks_at`` does for a single time.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, cast, func, type_coerce
from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.checks import READS, WINDOW_CHECKS, WindowInputs, window_checks
from fuseboard.monitoring.history import generic_columns, generic_performance, group_by_period, periods, window_phrase
from fuseboard.monitoring.packed_merge import merge_blobs
from fuseboard.monitoring.result import CheckResult, span, worst
from fuseboard.monitoring.settings import policy_for
from fuseboard.monitoring.triage import escalate, triage
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, ModelVersion, WindowProfile

__all__ = ["DeploymentHistory", "PeriodChecks", "StoredWindows", "load_windows", "replay"]


@dataclass
class PeriodChecks:
    """One period of a deployment's history and its verdicts."""

    start: str  # ISO 8601, UTC
    end: str
    span: str  # "1d", or the last period's shorter length
    version: int | None  # the version whose windows were read; None: no windows in the period
    rows: int  # inference rows in the windows read
    windows: int  # stored windows read
    unread_rows: int  # rows of other versions' windows in the period, not read
    status: str  # the worst verdict
    checks: list[CheckResult]
    triage: dict[str, Any] = field(default_factory=dict)  # is the drift hurting the model (triage.py)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [c.as_dict() for c in self.checks]
        return out


@dataclass
class DeploymentHistory:
    model: str
    environment: str
    version: int  # the version deployed there now (a period that read another one says which)
    criticality: str
    start: str  # ISO 8601, UTC
    end: str
    every: str  # "1d"
    periods: list[PeriodChecks] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["periods"] = [p.as_dict() for p in self.periods]
        return out


@dataclass
class StoredWindows:
    """A deployment's windows between two times, oldest first; their profiles as stored (compact blobs,
    store/window_codec.py), merged a period at a time straight from the blobs."""

    version_ids: Any  # ndarray of shape (n_windows,), int64
    starts: Any  # ndarray of shape (n_windows,), int64: epoch seconds
    rows: Any  # ndarray of shape (n_windows,), int64
    features: list[bytes | None]  # blobs
    predictions: list[bytes | None]
    performance: list[bytes | None]
    estimated: list[bytes | None] = field(default_factory=list)


@contextmanager
def _no_collection() -> Iterator[None]:
    """Without the cyclic garbage collector: a long history is tens of thousands of blobs and arrays
    (none cyclic), which the collector would otherwise walk again and again while they are merged."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_windows(ws: Workspace, model_id: int, environment_id: int, start: datetime, end: datetime
                 ) -> StoredWindows:
    """The windows of a model in an environment (every version) that start in ``[start, end)``.

    Read once, their profiles as stored: ``merge_periods`` merges each period's blobs without
    decoding them window by window (the column type would decode every one up front).

    Returns
    -------
    windows : StoredWindows
        Ordered by start (then id).
    """
    import numpy as np

    t = WindowProfile.__table__  # a plain Core select: no ORM row processing for 25,000 windows
    if ws.engine.dialect.name == "sqlite":  # epoch seconds computed by the database, not parsed one by one here
        epoch = cast(func.strftime("%s", t.c.window_start), BigInteger)
    else:
        epoch = cast(func.extract("epoch", t.c.window_start), BigInteger)
    blobs = [type_coerce(t.c[f"{c}_packed"], LargeBinary) for c in ("features", "predictions", "performance",
                                                                     "estimated")]
    with ws.engine.connect() as conn:
        found = conn.execute(select(t.c.version_id, epoch, t.c.rows, *blobs)
                             .where(t.c.model_id == model_id, t.c.environment_id == environment_id,
                                    t.c.window_start >= start, t.c.window_start < end)
                             .order_by(t.c.window_start, t.c.id)).all()
    n = len(found)
    columns = [list(column) for column in list(zip(*found))] if n else [[]] * 7
    return StoredWindows(version_ids=np.array(columns[0], dtype=np.int64), starts=np.array(columns[1], dtype=np.int64),
                         rows=np.array(columns[2], dtype=np.int64),
                         features=columns[3], predictions=columns[4], performance=columns[5], estimated=columns[6])


def merge_periods(stored: StoredWindows, jobs: list[tuple[int, Any]], wanted: set[str]) -> dict[int, WindowInputs]:
    """Each job's windows merged, as the window checks read them.

    Parameters
    ----------
    stored : StoredWindows
    jobs : list of (key, ndarray of intp)
        A period's key and the positions of the windows it reads.
    wanted : set of str
        The checks run: a column no check reads is neither decoded nor merged (``{}``).

    Returns
    -------
    merged : dict of key to WindowInputs
        As ``checks.merged`` and ``checks.merged_performance`` give them (a period is both the drift
        and the performance window: ``labelled`` is ``performance``).
    """
    out: dict[int, WindowInputs] = {}
    for key, positions in jobs:
        at = positions.tolist()
        merged = WindowInputs()
        if wanted & READS["features"]:
            merged.features = merge_blobs([stored.features[i] for i in at], generic_columns)
        if wanted & READS["predictions"]:
            merged.predictions = merge_blobs([stored.predictions[i] for i in at], generic_columns)
        if wanted & READS["performance"]:
            merged.performance = merged.labelled = merge_blobs([stored.performance[i] for i in at],
                                                               generic_performance)
        if wanted & READS["estimated"] and stored.estimated:
            merged.estimated = merge_blobs([stored.estimated[i] for i in at], generic_performance)
        out[key] = merged
    return out


def replay(ws: Workspace, model: str, environment: str, start: datetime, end: datetime, every: timedelta, *,
           only: set[str] | None = None) -> DeploymentHistory:
    """The window-based checks over each period of ``every`` from ``start`` to ``end``.

    Parameters
    ----------
    ws : Workspace
    model, environment : str
        Names; the model must be deployed there.
    start, end : datetime
        Aware; the periods cover ``[start, end)``, the last one cut at ``end``.
    every : timedelta
        The periods' length.
    only : set of str, optional
        Some of ``checks.WINDOW_CHECKS`` (default: all of them).

    Returns
    -------
    history : DeploymentHistory
        One ``PeriodChecks`` per period, oldest first.

    Raises
    ------
    fuseboard.errors.NotFound
        No such model or environment.
    fuseboard.errors.FuseboardError
        Nothing of the model is deployed there; too many periods.
    ValueError
        ``end`` not after ``start``, or ``every`` not positive.
    """
    with _no_collection():  # tens of thousands of blobs: a full collection would walk them all
        return _replay(ws, model, environment, start, end, every, set(only or WINDOW_CHECKS) & set(WINDOW_CHECKS))


def _replay(ws: Workspace, model: str, environment: str, start: datetime, end: datetime, every: timedelta,
            wanted: set[str]) -> DeploymentHistory:
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    bounds = periods(start, end, every)
    with ws.session() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, environment)
        deployed = s.exec(select(Deployment.version_id).where(Deployment.model_id == m.id,
                                                              Deployment.environment_id == e.id)).first()
        if deployed is None:
            raise FuseboardError(f"no version of {m.name!r} is deployed in {e.name!r}", field="environment")
        name, criticality, settings = m.name, m.criticality, m.monitoring
        deployed_number = s.get(ModelVersion, deployed).version
    policy = policy_for(settings)
    stored = load_windows(ws, m.id, e.id, start, end)
    groups = group_by_period(stored.starts, bounds)
    chosen = [_version_of(stored.version_ids[g], stored.starts[g], deployed) if g.size else None for g in groups]
    read = [g[stored.version_ids[g] == v] if v is not None else g for g, v in zip(groups, chosen)]
    profiles = _versions(ws, {v for v in chosen if v is not None})
    jobs = [(k, read[k]) for k in range(len(bounds)) if chosen[k] is not None]
    merged = merge_periods(stored, jobs, wanted)
    out = DeploymentHistory(name, e.name, deployed_number, criticality, start.isoformat(), end.isoformat(), span(every))
    for k, period in enumerate(bounds):
        version = chosen[k]
        number, reference, validation = profiles.get(version, (None, {}, {})) if version is not None else \
            (None, {}, {})
        phrase = window_phrase(period.length, period.end, live=False)
        checks = window_checks(wanted, merged.get(k, WindowInputs()), reference or {}, validation or {}, criticality,
                               policy, phrase, phrase)
        verdict = triage(checks)
        escalate(checks, verdict, criticality)  # as ``check --at`` the period's end grades it
        total = int(stored.rows[groups[k]].sum()) if groups[k].size else 0
        mine = int(stored.rows[read[k]].sum()) if read[k].size else 0
        out.periods.append(PeriodChecks(period.start.isoformat(), period.end.isoformat(), span(period.length), number,
                                        mine, int(read[k].size), total - mine, worst(c.status for c in checks),
                                        checks, verdict.as_dict()))
    return out


def _version_of(version_ids: Any, starts: Any, deployed: int) -> int:
    """The version of a period's last window (``checks._read_version``'s rule: among windows that start
    together, the deployed version, else the newest)."""
    last = version_ids[starts == starts[-1]]
    return deployed if (last == deployed).any() else int(last.max())


def _versions(ws: Workspace, ids: set[int]) -> dict[int, tuple[int, dict[str, Any], dict[str, Any]]]:
    """Version id -> (version number, reference profile, validation metrics)."""
    if not ids:
        return {}
    with ws.session() as s:
        return {row[0]: (row[1], row[2] or {}, row[3] or {}) for row in s.execute(
            select(ModelVersion.id, ModelVersion.version, ModelVersion.reference_profile,
                   ModelVersion.validation_metrics).where(ModelVersion.id.in_(sorted(ids))))}
