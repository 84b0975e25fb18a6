"""The Python API for serving code.

    import fuseboard
    fuseboard.log_predictions("credit-risk", "prod", rows)

``rows``: a pandas DataFrame, a pyarrow Table or a list of dicts with the
model's features, ``prediction`` and optionally ``timestamp``, ``score``,
``request_id`` and ``label`` (see ``fuseboard ingest --help``).

Beyond one machine: ``ingest_dataset`` folds a Parquet dataset on a Dask cluster; ``profile_spec``,
``profile_batch`` and ``profiles_table`` fold rows on any engine's workers (Spark's ``mapInArrow``,
Ray) into window profiles that ``ingest_profiles`` (``fuseboard ingest-profiles``) writes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.ingest import ColumnQuality, PartialWindow, ProfileSpec


class LoggedPredictions(TypedDict):
    """What ``log_predictions`` recorded (``fuseboard ingest --json`` prints the same)."""

    model: str
    environment: str
    version: int  # the version serving in ``environment``, whose windows the rows went to
    rows: int
    windows: int  # five-minute windows the rows fell in
    labelled: int  # rows that came with their ``label``
    awaiting_labels: int  # predictions kept by ``request_id`` until ``log_labels`` joins their labels
    first_window: str  # ISO 8601
    last_window: str
    quality: dict[str, ColumnQuality]  # by column, only those with findings
    outside_check_windows: dict[str, Any]  # rows older than the drift and performance windows checked now


class LoggedLabels(TypedDict):
    """What ``log_labels`` joined (``fuseboard ingest-labels --json`` prints the same)."""

    model: str
    environment: str
    rows: int
    joined: int  # labels matched to a prediction logged earlier
    unmatched: int
    windows: int  # windows whose performance was updated
    outside_check_windows: dict[str, Any]  # labels of predictions older than the performance window checked now


def _workspace(db: str | None) -> Any:
    from fuseboard.config import Config, resolve_db_url
    from fuseboard.store.db import open_workspace

    config = Config.load()
    return open_workspace(resolve_db_url(db, config), artifact_dir=config.artifacts, create=False,
                          group=config.group, audit_anchor=config.audit_anchor)


def log_predictions(model: str, env: str, rows: Any, *, db: str | None = None) -> LoggedPredictions:
    """Fold served predictions into the monitoring windows; returns what was recorded.

    The workspace is ``db`` (a SQLAlchemy URL), else the one ``fuseboard`` would open.
    Raises ``fuseboard.errors.FuseboardError`` with one line naming the problem; on
    error nothing is written.
    """
    from fuseboard.monitoring.ingest import as_table, ingest_table

    ws = _workspace(db)
    try:
        return cast(LoggedPredictions, ingest_table(ws, model, env, as_table(rows), source="log_predictions").as_dict())
    finally:
        ws.close()


def log_labels(model: str, env: str, rows: Any, *, db: str | None = None) -> LoggedLabels:
    """Join true labels (``request_id``, ``label``) to predictions logged earlier."""
    from fuseboard.monitoring.ingest import as_table, ingest_labels_table

    ws = _workspace(db)
    try:
        return cast(LoggedLabels, ingest_labels_table(ws, model, env, as_table(rows), source="log_labels").as_dict())
    finally:
        ws.close()


# -- folding anywhere: a Dask cluster, or any engine's workers (Spark, Ray) ---------------------------

PROFILE_DDL = ("model string, version int, reference string, window_start bigint, rows bigint, labelled bigint, "
               "features binary, predictions binary, performance binary, estimated binary")  # exchange.PROFILE_DDL


def profile_spec(model: str, env: str, *, db: str | None = None) -> ProfileSpec:
    """What workers need to fold rows for the version serving ``model`` in ``env``, without the workspace.

    Parameters
    ----------
    model, env : str
    db : str, optional
        The workspace's SQLAlchemy URL (default: the one ``fuseboard`` opens).

    Returns
    -------
    spec : ProfileSpec
        It pickles: broadcast it to the workers that call ``profile_batch``.
    """
    from fuseboard.monitoring.ingest import profile_spec as spec_of

    ws = _workspace(db)
    try:
        return spec_of(ws, model, env)
    finally:
        ws.close()


def profile_batch(spec: ProfileSpec, rows: Any, *, source: str = "rows", now: datetime | None = None
                  ) -> list[PartialWindow]:
    """Fold rows into mergeable window profiles on any machine: no workspace, no database, no Dask.

    Parameters
    ----------
    spec : ProfileSpec
        From ``profile_spec``.
    rows : pyarrow.Table, RecordBatch, iterable of RecordBatch, pandas.DataFrame or list of dict
        What ``fuseboard ingest`` reads: the features, ``prediction``, optionally ``timestamp``,
        ``score``/``score_<class>``, ``request_id``, ``label``.
    source : str, default "rows"
        Named in error lines.
    now : datetime, optional
        The time of rows without a ``timestamp``.

    Returns
    -------
    windows : list of PartialWindow
        One per five-minute window; ``profiles_table(spec, windows)`` makes them Arrow records
        (``PROFILE_DDL``) for ``fuseboard ingest-profiles``.

    Raises
    ------
    fuseboard.errors.FuseboardError
        One line naming ``source``: what ``fuseboard ingest`` refuses.
    """
    from fuseboard.monitoring.ingest.partial import profile_batch as fold

    return fold(spec, rows, source=source, now=now)


def profiles_table(spec: ProfileSpec, windows: list[PartialWindow]) -> Any:
    """``profile_batch``'s windows as a pyarrow Table of ``PROFILE_DDL`` records (one per window)."""
    from fuseboard.monitoring.ingest.exchange import profiles_table as table_of

    return table_of(spec, windows)


def ingest_profiles(model: str, env: str, path: str | Path, *, db: str | None = None) -> LoggedPredictions:
    """Write ``profiles_table`` records (a Parquet or Arrow file, or a directory of Parquet parts) into the
    serving version's windows in one transaction; ``fuseboard ingest-profiles`` does the same."""
    from fuseboard.monitoring.ingest import ingest_profiles_file

    ws = _workspace(db)
    try:
        return cast(LoggedPredictions, ingest_profiles_file(ws, model, env, Path(path)).as_dict())
    finally:
        ws.close()


def ingest_dataset(model: str, env: str, path: str | Path, scheduler: str | None = None, *, client: Any = None,
                   db: str | None = None) -> LoggedPredictions:
    """Ingest a Parquet dataset (a directory, a glob or a URI) on a Dask cluster, written in one transaction.

    Parameters
    ----------
    model, env : str
    path : str or Path
        Where every worker reads it (shared storage or object storage).
    scheduler : str, optional
        The scheduler's address; or ``client``, a ``distributed.Client`` already connected.
    db : str, optional

    Returns
    -------
    logged : LoggedPredictions
        What ``fuseboard ingest --dask SCHEDULER --json`` prints.
    """
    from fuseboard.monitoring.ingest.cluster import ingest_dataset as ingest

    ws = _workspace(db)
    try:
        return cast(LoggedPredictions, ingest(ws, model, env, str(path), scheduler, client=client).as_dict())
    finally:
        ws.close()
