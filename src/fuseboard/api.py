"""The Python API for serving code.

    import fuseboard
    fuseboard.log_predictions("credit-risk", "prod", rows)

``rows``: a pandas DataFrame, a pyarrow Table or a list of dicts with the
model's features, ``prediction`` and optionally ``timestamp``, ``score``,
``request_id`` and ``label`` (see ``fuseboard ingest --help``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:  # pragma: no cover
    from fuseboard.monitoring.ingest import ColumnQuality


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
