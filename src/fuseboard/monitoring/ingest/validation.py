"""Validating a batch: its columns against the serving version's schema, checked whole before anything
is written.

One job: missing or unknown columns, duplicate or nested columns, text where numbers are expected,
unreadable or impossible timestamps and empty batches are one error line naming the file, column
and row. Nulls and categories the reference never saw are not errors (the folds count them). A
valid batch comes out as a ``Batch``: its own columns (prediction, label, scores, request ids,
times) converted; its features are converted as they fold (see fold.py).

Columns: the model's features, ``prediction`` (required), and optionally ``timestamp`` (ISO 8601 or
epoch seconds; default now), ``score`` (binary: the probability of the positive class) or
``score_<class>`` for each class, ``request_id`` and ``label``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.ingest.encode import _POOL, _encode, _numbers, _where
from fuseboard.monitoring.ingest.read import OWN, ParquetColumns

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

    from fuseboard.store.models import ModelVersion

FIRST_TIME, LAST_TIME = -62_135_596_800, 253_402_300_799  # 0001-01-01 and 9999-12-31 23:59:59 UTC, epoch seconds
OPTIONAL = ("timestamp", "score", "request_id", "label")
SCORE_PREFIX = "score_"


def _timestamps(table: "pa.Table", source: str, now: datetime) -> "np.ndarray":
    """Seconds since the epoch per row (UTC)."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    if "timestamp" not in table.column_names:
        return np.full(n, now.timestamp())
    col = table.column("timestamp")
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        seconds = _numbers(table, "timestamp", source)
    elif pa.types.is_timestamp(col.type):  # naive times are taken as UTC
        import pyarrow.compute as pc

        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[col.type.unit]
        ticks = pc.cast(col, pa.int64())
        seconds = ticks.to_numpy(zero_copy_only=False).astype("float64")
        if per_second != 1:
            seconds /= per_second
        if ticks.null_count:
            seconds[np.asarray(pc.is_null(ticks).to_numpy(zero_copy_only=False))] = np.nan
    else:
        import pandas as pd

        raw = pd.Series(col.to_pandas() if pa.types.is_timestamp(col.type) else
                        col.cast(pa.string()).to_numpy(zero_copy_only=False))
        parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
        bad = raw.notna() & parsed.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise FuseboardError(f"column 'timestamp' {_where(source, row)} holds {str(raw.iloc[row])!r}, "
                                 f"not a time (use ISO 8601 or epoch seconds) ({source})")
        seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    missing = ~np.isfinite(seconds)
    if missing.any():
        seconds = np.where(missing, now.timestamp(), seconds)
    beyond = np.flatnonzero((seconds < FIRST_TIME) | (seconds > LAST_TIME))
    if beyond.size:  # a time no calendar date holds: epoch milliseconds, say
        import pyarrow as pa
        import pyarrow.compute as pc

        row, col = int(beyond[0]), table.column("timestamp")
        if pa.types.is_timestamp(col.type):  # no date to show: the number the file holds
            held, hint = f"{pc.cast(col, pa.int64())[row].as_py()} {col.type.unit} since 1970", ""
        else:
            held, hint = repr(col[row].as_py()), " (epoch seconds, not milliseconds)"
        raise FuseboardError(f"column 'timestamp' {_where(source, row)} holds {held}, not a time between the "
                             f"years 1 and 9999{hint} ({source})")
    return seconds


@dataclass
class Batch:
    """A validated batch: one array per column, ready to fold (features may come as they fold)."""

    rows: int
    seconds: Any
    features: dict[str, Any]
    prediction: Any
    scores: Any | None
    request_id: Any | None
    label: Any | None

    @cached_property
    def named(self) -> Any:
        """Per row: whether it has a request id (None without a request_id column)."""
        import numpy as np

        if self.request_id is None:
            return None
        return np.array([v is not None and v != "" for v in self.request_id], dtype=bool)

    @cached_property
    def labelled(self) -> Any:
        """Per row: whether it has its label (None without a label column)."""
        import numpy as np

        if self.label is None:
            return None
        return np.isfinite(self.label) if isinstance(self.label, np.ndarray) else self.label.indices >= 0


def validate(table: "pa.Table | ParquetColumns", mv: ModelVersion, task: str, classes: list[str], source: str,
             now: datetime) -> Batch:
    """Check a batch's columns against the model and convert the batch's own (prediction, label,
    scores, request ids, times); the features are checked and converted as they fold
    (``fold_windows``), a Parquet file's while the rest of it is still being read."""
    schema = {f["name"]: f["kind"] for f in mv.feature_schema}
    columns = list(table.column_names)
    if table.num_rows == 0:
        raise FuseboardError(f"no rows to ingest ({source})")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise FuseboardError(f"duplicate column {dupes[0]!r} ({source})")
    missing = [c for c in [*schema, "prediction"] if c not in columns]
    if missing:
        raise FuseboardError(f"missing column(s) the model needs: {', '.join(map(repr, missing[:5]))} ({source})")
    score_columns = [f"{SCORE_PREFIX}{c}" for c in classes] if task == "classification" and len(classes) > 2 else []
    allowed = {*schema, "prediction", *OPTIONAL, *score_columns}
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise FuseboardError(f"unknown column(s): {', '.join(map(repr, unknown[:5]))} (the model's features, "
                             f"prediction, {', '.join(OPTIONAL)}) ({source})")
    _refuse_nested(table, schema, source)
    if isinstance(table, ParquetColumns):  # what is needed first is read first
        table.prefetch([*OWN, *score_columns, *schema])

    def scores() -> Any:
        if task == "regression":
            return None
        if len(classes) == 2 and "score" in columns:
            return _numbers(table, "score", source)
        if score_columns and any(c in columns for c in score_columns):
            absent = [c for c in score_columns if c not in columns]
            if absent:
                raise FuseboardError(f"score columns come as a set; missing {', '.join(map(repr, absent))} ({source})")
            import numpy as np

            return np.column_stack([_numbers(table, c, source) for c in score_columns])
        return None

    convert = _numbers if task == "regression" else lambda t, name, _: _encode(t, name)
    jobs = [lambda: convert(table, "prediction", source),
            lambda: convert(table, "label", source) if "label" in columns else None,
            scores,
            lambda: _encode(table, "request_id").values() if "request_id" in columns else None,
            lambda: _timestamps(table, source, now)]
    # pyarrow and numpy convert without the GIL: side by side (the first bad column in this order is
    # the one reported, as map raises in order)
    prediction, label, scored, request_id, seconds = _POOL.map(lambda job: job(), jobs)
    return Batch(table.num_rows, seconds, {}, prediction, scored, request_id, label)


def _refuse_nested(table: "pa.Table | ParquetColumns", features: dict[str, str], source: str) -> None:
    """One line naming the first column whose values are lists, structs or maps (JSON arrays and
    objects, nested Parquet), from the batch's schema: nothing of such a batch is read further."""
    import pyarrow as pa

    for f in table.schema:
        kind = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_nested(kind):
            what = "features" if f.name in features else "its values"
            raise FuseboardError(f"column {f.name!r} holds nested values (list/struct); {what} must be numbers or "
                                 f"text ({source})")

