"""Inference rows in: read, validate against the serving version's schema, fold into windows.

A batch (a CSV, Parquet or JSON Lines file, or rows handed over by serving
code) is checked whole before anything is written: missing or unknown columns,
text where numbers are expected, unreadable timestamps and empty batches are
one error line naming the file, column and row. Nulls and categories the
reference never saw are not errors; they are counted in the window profiles
and reported as data-quality findings.

Rows are folded into five-minute window profiles (see windows.py) and merged
into the windows already stored, in one transaction. Raw rows are not kept;
only rows with a ``request_id`` and no label yet leave a small pending record
(prediction and score) so a label arriving later can be joined to them.

Columns: the model's features, ``prediction`` (required), and optionally
``timestamp`` (ISO 8601 or epoch seconds; default now), ``score`` (binary: the
probability of the positive class) or ``score_<class>`` for each class,
``request_id`` and ``label``.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import insert
from sqlmodel import select

from fuseboard.errors import FuseboardError
from fuseboard.inputs import not_a_file
from fuseboard.monitoring import performance, profiles, windows
from fuseboard.store import lookup
from fuseboard.store.db import Workspace
from fuseboard.store.models import Deployment, IngestedBatch, ModelVersion, PendingLabel, WindowProfile, utcnow

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

WINDOW_SECONDS = 300
FIRST_TIME, LAST_TIME = -62_135_596_800, 253_402_300_799  # 0001-01-01 and 9999-12-31 23:59:59 UTC, epoch seconds
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fuseboard-fold")
_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuseboard-read")
OPTIONAL = ("timestamp", "score", "request_id", "label")
OWN = ("timestamp", "prediction", "label", "score", "request_id")  # a batch's columns besides the features
SCORE_PREFIX = "score_"
READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json", ".ndjson": "json",
           ".json": "json"}


@dataclass
class IngestResult:
    model: str
    environment: str
    version: int
    rows: int
    windows: int
    labelled: int
    awaiting_labels: int
    first_window: str
    last_window: str
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading -------------------------------------------------------------------------------

def _check_path(path: Path) -> str:
    """The reader for a file's suffix, once the file is known to be there and not empty."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise FuseboardError(f"unknown file type {path.suffix or '(none)'!r}: use .csv, .parquet or .jsonl ({path})")
    if not path.exists():
        raise FuseboardError(f"file not found: {path}")
    if path.is_dir():
        raise FuseboardError(f"expected a file, got a directory: {path}")
    if (special := not_a_file(path)) is not None:
        raise FuseboardError(f"expected a file; {path} is {special}")
    if path.stat().st_size == 0:
        raise FuseboardError(f"file is empty: {path}")
    return kind


def _unreadable(kind: str, exc: BaseException, path: Path) -> FuseboardError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return FuseboardError(f"cannot read {kind.upper() if kind != 'json' else 'JSON Lines'}: {first} ({path})")


def _reading_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa

    return pa.ArrowException, OSError, ValueError  # every pyarrow error, and bad bytes


def read_file(path: Path) -> "pa.Table":
    """Read CSV, Parquet or JSON Lines with pyarrow; one clear line for each way it can fail."""
    kind = _check_path(path)
    try:
        if kind == "csv":
            from pyarrow import csv

            return csv.read_csv(path)
        if kind == "parquet":
            return ParquetColumns(path).read_all()
        from pyarrow import json

        return json.read_json(path)
    except _reading_errors() as exc:
        raise _unreadable(kind, exc, path) from None


def open_file(path: Path) -> "pa.Table | ParquetColumns":
    """A file's columns for ingest: Parquet is read column by column in the background, so the
    first columns are folded while the others are still being read; other formats are read whole."""
    if _check_path(path) != "parquet":
        return read_file(path)
    try:
        columns = ParquetColumns(path)
    except _reading_errors() as exc:
        raise _unreadable("parquet", exc, path) from None
    columns.prefetch(list(OWN))  # while the model is looked up
    return columns


class ParquetColumns:
    """A Parquet file's columns as a table offers them (``column_names``, ``num_rows``, ``column``),
    read a few at a time on a background thread in the order ``prefetch`` asks for.

    Text columns come dictionary-encoded, as Parquet stores them: no re-encoding later. Each read
    gives one chunk per row group, so numeric columns convert to numpy without copies. The file is
    memory-mapped (no copy through read(); 7% of an ingest): a file cut short by another process
    while it is read ends the process with SIGBUS, before anything is written.
    """

    GROUP = 4  # columns a read: big enough for pyarrow's threads, small enough to start folding early

    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        from pyarrow import parquet

        self.path = path
        self._file = parquet.ParquetFile(path, memory_map=True, read_dictionary=[
            f.name for f in parquet.read_schema(path)
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)])
        self.column_names: list[str] = list(self._file.schema_arrow.names)
        self.num_rows: int = self._file.metadata.num_rows
        self._reads: dict[str, Future] = {}
        self._lock = threading.Lock()

    @property
    def schema(self) -> "pa.Schema":
        return self._file.schema_arrow

    def prefetch(self, names: list[str]) -> None:
        """Start reading these columns, in this order (the first ones together)."""
        with self._lock:
            wanted = [n for n in dict.fromkeys(names) if n in self.column_names and n not in self._reads]
            for i in range(0, len(wanted), self.GROUP):
                group = wanted[i:i + self.GROUP]
                read = _READER.submit(self._file.read, columns=group)
                self._reads.update(dict.fromkeys(group, read))

    def column(self, name: str) -> "pa.ChunkedArray":
        if name not in self._reads:
            self.prefetch([name])
        try:
            return self._reads[name].result().column(name)
        except _reading_errors() as exc:
            raise _unreadable("parquet", exc, self.path) from None

    def read_all(self) -> "pa.Table":
        return self._file.read()


def as_table(rows: Any) -> "pa.Table":
    """A pyarrow Table from a pandas DataFrame, a pyarrow Table or a list of dicts."""
    import pyarrow as pa

    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, list):
        if not all(isinstance(r, dict) for r in rows):
            raise FuseboardError("rows must be dicts of column -> value")
        return pa.Table.from_pylist(rows)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(rows, pd.DataFrame):
        return pa.Table.from_pandas(rows, preserve_index=False)
    raise FuseboardError(f"rows must be a pandas DataFrame, a pyarrow Table or a list of dicts, not {type(rows).__name__}")


# -- validation ----------------------------------------------------------------------------

def _where(source: str, row: int) -> str:
    """Row numbers as users see them: 1 for the first data row (line 2 of a CSV file)."""
    line = f", line {row + 2}" if source.lower().endswith(".csv") else ""
    return f"row {row + 1}{line}"


def _numbers(table: "pa.Table", column: str, source: str) -> "np.ndarray":
    """A float array (nulls as NaN), or an error naming the first cell that is not a number."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(column)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type) \
            or pa.types.is_null(col.type):
        # unsafe: integers beyond 2**53 become the nearest float (statistics need no more precision)
        return np.asarray(pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype="float64")
    text = pc.cast(col, pa.string()) if not pa.types.is_string(col.type) else col
    import pandas as pd

    series = pd.Series(text.to_numpy(zero_copy_only=False), dtype="object")
    values, row, _ = profiles.parse_numbers(series)
    if row is not None:
        raise FuseboardError(f"column {column!r} must be numeric but {_where(source, row)} holds "
                             f"{str(series.iloc[row])!r} ({source})")
    return values.to_numpy(dtype="float64", na_value=np.nan)


@dataclass
class Encoded:
    """A text column as integer codes into its distinct values (-1 for null)."""

    indices: Any
    dictionary: list[str]

    def codes_for(self, keys: list[str]) -> Any:
        """Per row: the index of its value in ``keys``, -1 for null, -2 for a value not in ``keys``."""
        import numpy as np

        position = {k: i for i, k in enumerate(keys)}
        lut = np.array([position.get(v, -2) for v in self.dictionary] + [-1], dtype=np.int64)
        if (lut[:-1] == np.arange(len(self.dictionary))).all():  # the values are the keys, in order
            return self.indices
        return lut[self.indices]  # index -1 (null) reads the trailing -1

    def values(self) -> Any:
        """Per row: its value as text, or None (an object array)."""
        import numpy as np

        return np.array([*self.dictionary, None], dtype=object)[self.indices]

    def value(self, row: int) -> str | None:
        i = int(self.indices[row])
        return None if i < 0 else self.dictionary[i]


def _encode(table: "pa.Table", column: str) -> Encoded:
    """Dictionary-encode a column as text (1.0 read from a file means "1"), in pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(column)
    if pa.types.is_floating(col.type):
        as_int = pc.cast(col, pa.int64(), safe=False)
        if pc.all(pc.or_kleene(pc.is_null(col), pc.equal(pc.cast(as_int, pa.float64(), safe=False), col))).as_py():
            col = as_int
    if pa.types.is_integer(col.type) and col.null_count == 0 and len(col):
        fast = _encode_small_ints(col.to_numpy())
        if fast is not None:
            return fast
    if pa.types.is_dictionary(col.type):  # already encoded (Parquet): one dictionary for all chunks
        encoded = col.chunk(0) if col.num_chunks == 1 else \
            pa.table({"c": col}).unify_dictionaries().column("c").combine_chunks()
    else:  # encode in the column's own type (integers stay integers); only distinct values become text
        encoded = pc.dictionary_encode(col).combine_chunks()
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    indices = indices.to_numpy(zero_copy_only=False)  # int32 as Parquet gives them: counted as they are
    dictionary = encoded.dictionary
    if pa.types.is_boolean(dictionary.type):
        values = ["True" if v else "False" for v in dictionary.to_pylist()]
    else:
        values = [str(v) for v in dictionary.to_pylist()]
    return Encoded(indices, values)


def _encode_small_ints(values: Any) -> Encoded | None:
    """Integer labels and predictions (class numbers): counted, not hashed (several times faster than
    a hash table); None when the values span too wide a range for a counting table."""
    import numpy as np

    lo, hi = int(values.min()), int(values.max())
    if hi - lo >= 1 << 16 or hi >= 1 << 62 or lo <= -(1 << 62):
        return None
    base = 0 if 0 <= lo and hi < 1 << 16 else lo  # class numbers count from 0 as they are
    values = values.astype(np.int64, copy=False)
    shifted = values - base if base else values
    if hi - lo <= 1:  # both ends occur and there is nothing between them: no need to count
        present = np.arange(lo - base, hi - base + 1)
    else:
        present = np.flatnonzero(np.bincount(shifted))
    dictionary = [str(v + base) for v in present.tolist()]
    if present.size == hi - base + 1:  # every value from 0 up occurs: codes are the values
        return Encoded(shifted.astype(np.int64, copy=False), dictionary)
    lut = np.full(hi - base + 1, -1, dtype=np.int64)
    lut[present] = np.arange(present.size)
    return Encoded(lut[shifted], dictionary)


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


def _feature(table: "pa.Table | ParquetColumns", name: str, kind: str, source: str) -> Any:
    """A feature column converted for folding: floats, or text as integer codes."""
    return _numbers(table, name, source) if kind == "numeric" else _encode(table, name)


# -- folding -------------------------------------------------------------------------------

def classes_of(mv: ModelVersion) -> list[str]:
    profile = mv.reference_profile
    if profile.get("classes"):
        return [str(c) for c in profile["classes"]]
    return sorted((profile.get("target") or {}).get("value_counts", {}))


def fold_window(batch: Batch, idx: Any, mv: ModelVersion, task: str, classes: list[str]) -> tuple[dict, dict, dict]:
    """Feature, prediction and performance profiles of the rows ``idx`` of a batch."""
    return fold_windows(batch, [idx], mv, task, classes)[0]


def fold_windows(batch: Batch, windows_idx: list[Any], mv: ModelVersion, task: str, classes: list[str],
                 table: "pa.Table | ParquetColumns | None" = None, source: str = "rows",
                 meanwhile: Callable[[], None] | None = None) -> list[tuple[dict, dict, dict]]:
    """``fold_window`` for several windows of a batch at once, one column at a time.

    Each task folds one column over every window, so the two worker threads get coarse work:
    numpy sorts without the GIL, and the columns fold side by side. Features the batch does not
    hold yet are converted from ``table`` by their task (the first bad one in schema order is the
    one reported). ``meanwhile`` runs on the calling thread while the columns fold.
    """
    ref = mv.reference_profile
    schema = mv.feature_schema
    n = len(windows_idx)

    def fold_numeric(column: Any, reference: dict[str, Any]) -> list[dict[str, Any]]:
        return windows.fold_numeric_windows(column, windows_idx, reference)

    def fold_feature(f: dict[str, Any]) -> list[dict[str, Any]]:
        column = batch.features.get(f["name"])
        if column is None:
            column = _feature(table, f["name"], f["kind"], source)
        reference = ref["features"][f["name"]]
        if f["kind"] == "numeric":
            return fold_numeric(column, reference)
        return _fold_encoded_windows(column, windows_idx, reference)

    def fold_performance() -> list[dict[str, Any]]:
        return performance.fold_classification_windows(
            batch.label.codes_for(classes), batch.prediction.codes_for(classes), classes, batch.scores, windows_idx)

    # (what, task): the prediction columns first (they are at hand), then the features as they are read
    tasks: list[tuple[tuple[str, str], Any]] = []
    if task == "regression":
        tasks.append((("out", "prediction"), lambda: fold_numeric(batch.prediction, ref.get("predictions") or {})))
        if batch.label is not None:
            tasks.append((("out", "performance"), lambda: [_fold_regression(batch, idx) for idx in windows_idx]))
    else:
        tasks.append((("out", "prediction"), lambda: _fold_encoded_windows(
            batch.prediction, windows_idx, {"value_counts": {c: 0 for c in classes}})))
        if batch.scores is not None and batch.scores.ndim == 1:
            tasks.append((("out", "score"), lambda: fold_numeric(batch.scores, ref.get("scores") or {})))
        if batch.label is not None:
            tasks.append((("out", "performance"), fold_performance))
    tasks += [(("feature", f["name"]), lambda f=f: fold_feature(f)) for f in schema]
    futures = [_POOL.submit(job) for _, job in tasks]
    if meanwhile is not None:
        try:
            meanwhile()
        except BaseException:
            for future in futures:  # what has not started yet is dropped; what runs finishes unheeded
                future.cancel()
            raise
    results = dict(zip([name for name, _ in tasks], _in_order(futures)))
    perf = results.get(("out", "performance")) or [{}] * n
    predictions = {key: results[("out", key)] for key in ("prediction", "score") if ("out", key) in results}
    return [({f["name"]: results[("feature", f["name"])][i] for f in schema}, {key: value[i] for key, value in predictions.items()},
             perf[i]) for i in range(n)]


def _in_order(futures: list[Future]) -> Any:
    """Each future's result in turn; the first failure is raised and the tasks not started are dropped."""
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()


def _fold_regression(batch: Batch, idx: Any) -> dict[str, Any]:
    import numpy as np

    label, pred = batch.label[idx], batch.prediction[idx]
    has = np.isfinite(label)
    return performance.fold_regression(label[has], pred[has]) if has.any() else {}


def _fold_encoded_windows(column: Encoded, windows_idx: list[Any], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """The category counts (nulls apart) of each window of an encoded column."""
    import numpy as np

    k = len(column.dictionary)
    nulls = bool((column.indices < 0).any())
    other = windows.in_other(column.dictionary, reference)  # the batch's values the reference had, not kept
    out = []
    for idx in windows_idx:  # window by window: each pass stays in the processor's cache
        if nulls:  # slot 0: null, then the dictionary's values
            counts = np.bincount(column.indices[idx] + 1, minlength=k + 1)
            out.append(windows.fold_counts(counts[1:], column.dictionary, int(counts[0]), reference, other))
        else:
            out.append(windows.fold_counts(np.bincount(column.indices[idx], minlength=k), column.dictionary, 0,
                                           reference, other))
    return out


def merge_profiles(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        out[key] = windows.merge_feature(old[key], value) if key in old else value
    return out


def _window_starts(seconds: Any) -> Any:
    import numpy as np

    return (np.floor(seconds / WINDOW_SECONDS) * WINDOW_SECONDS).astype("int64")


def _windows(seconds: Any) -> tuple[Any, list[Any], list[int]]:
    """The batch's windows: the start of each (epoch seconds, ascending), its rows (a slice when the
    rows come in time order, the usual case: no copies) and how many.

    A row's window is ``_window_starts``; rows in time order are cut where the boundaries fall
    instead of working out every row's window. Both agree to the last bit: a time s below a boundary
    B = L*m (L the window length) is at least ulp(B) >= 2**j ulp(m) below it, 2**j the largest power
    of two not above L, so s / L is more than half an ulp below m and never rounds up to it.
    """
    import numpy as np

    n = int(seconds.size)
    in_order = n < 2 or bool(np.all(seconds[1:] >= seconds[:-1]))
    first_start, last_start = (int(v) for v in _window_starts(seconds[[0, -1]]))
    if in_order and (last_start - first_start) // WINDOW_SECONDS <= n:  # not more boundaries than rows
        boundaries = np.arange(first_start + WINDOW_SECONDS, last_start + 1, WINDOW_SECONDS, dtype="int64")
        cuts = np.searchsorted(seconds, boundaries.astype("float64"), side="left")  # first row at or past each
        edges = np.concatenate([[0], cuts, [n]])
        sizes = np.diff(edges)
        kept = np.flatnonzero(sizes)  # windows no row falls in are not windows
        starts = np.concatenate([[first_start], boundaries])[kept]
        return starts, [slice(int(edges[k]), int(edges[k + 1])) for k in kept.tolist()], sizes[kept].tolist()
    starts = _window_starts(seconds)  # rows out of order, or years apart: each row's window worked out
    order = None if in_order else np.argsort(starts, kind="stable")
    ordered = starts if in_order else starts[order]
    first = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]).tolist()  # no np.unique
    bounds = [*first[1:], n]
    return ordered[first], [slice(lo, hi) if in_order else order[lo:hi] for lo, hi in zip(first, bounds)], \
        [hi - lo for lo, hi in zip(first, bounds)]


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc)


class _Redeployed(Exception):
    """Another version was deployed while the batch was folded for the one serving before."""


REDEPLOY_ATTEMPTS = 5  # deploys landing one after another while a batch folds: then the ingest gives up


def ingest_table(ws: Workspace, model: str, env: str, table: "pa.Table | ParquetColumns", *, source: str = "rows",
                 now: datetime | None = None) -> IngestResult:
    """Validate a batch whole and fold it, then merge it into the serving version's windows in one
    short transaction (the write lock is not held while the batch is folded).

    When a deploy lands while the batch folds, the transaction is rolled back (nothing of it was
    written) and the batch is validated and folded again for the version now serving, then written
    in a fresh transaction: the write lock is never held while the batch folds.
    """
    now = now or utcnow()
    for _ in range(REDEPLOY_ATTEMPTS):
        try:
            return _ingest_once(ws, model, env, table, source, now)
        except _Redeployed:
            continue
    raise FuseboardError(f"{model} in {env} was deployed {REDEPLOY_ATTEMPTS} times while the batch was being "
                         f"folded; nothing was written, try again ({source})")


def _ingest_once(ws: Workspace, model: str, env: str, table: "pa.Table | ParquetColumns", source: str,
                 now: datetime) -> IngestResult:
    """One attempt: read, validate and fold for the version serving now, then write; ``_Redeployed``
    (with the transaction rolled back) when another version was deployed in the meantime."""
    with ws.session() as s:  # read what the batch is checked against
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        dep = s.exec(select(Deployment).where(Deployment.model_id == m.id,
                                              Deployment.environment_id == e.id)).first()
        if dep is None:
            raise FuseboardError(f"no version of {m.name!r} is deployed in {e.name!r}; deploy one first")
        mv = s.get(ModelVersion, dep.version_id)
    classes = classes_of(mv) if m.task == "classification" else []
    batch = validate(table, mv, m.task, classes, source, now)
    unique, slices, sizes = _windows(batch.seconds)
    whens = [_utc(start) for start in unique]

    def prepare() -> None:  # the write's queries, run once while the batch folds: the transaction then
        with ws.session() as s:  # finds them compiled (a fresh process compiles every statement once)
            _serving(s, m.id, e.id), _stored_windows(s, mv.id, e.id, whens)

    fingerprint = _fingerprint(batch)
    folded = fold_windows(batch, slices, mv, m.task, classes, table=table, source=source, meanwhile=prepare)
    labelled = sum(perf.get("labelled", 0) for _, _, perf in folded)
    with ws.transaction() as s:
        if _serving(s, m.id, e.id) != mv.id:  # a deploy landed while the batch was folded: roll back (the
            raise _Redeployed  # transaction leaves with the exception) and fold it again outside it
        pending = _pending(s, m.id, e.id, mv.id, batch, source)
        if fingerprint is not None:
            _refuse_repeat(s, m.id, e.id, fingerprint, batch.rows, source)
        stored = _stored_windows(s, mv.id, e.id, whens)
        fresh = []  # windows nothing was stored in yet: one multi-row insert, no objects to build
        for when, size, (features, predictions, perf) in zip(whens, sizes, folded):
            row = stored.get(when)
            if row is None:
                fresh.append({"model_id": m.id, "environment_id": e.id, "version_id": mv.id, "window_start": when,
                              "window_seconds": WINDOW_SECONDS, "rows": size, "features": features,
                              "predictions": predictions, "performance": perf or {}, "updated_at": now})
                continue
            row.rows += size
            row.features = merge_profiles(row.features, features)
            row.predictions = merge_profiles(row.predictions, predictions)
            if perf:
                row.performance = performance.merge(row.performance, perf) if row.performance else perf
            row.updated_at = now
            s.add(row)
        if fresh:
            s.execute(insert(WindowProfile), fresh)
        if pending:
            s.execute(insert(PendingLabel), pending)
    quality = _quality([features for features, _, _ in folded], [predictions for _, predictions, _ in folded])
    return IngestResult(m.name, e.name, mv.version, batch.rows, len(unique), labelled, len(pending),
                        _utc(unique[0]).isoformat(), _utc(unique[-1]).isoformat(), quality)


def _serving(s: Any, model_id: int, env_id: int) -> int | None:
    """The id of the version deployed to the environment."""
    return s.exec(select(Deployment.version_id).where(Deployment.model_id == model_id,
                                                     Deployment.environment_id == env_id)).first()


def _stored_windows(s: Any, version_id: int, env_id: int, whens: list[datetime]) -> dict[datetime, WindowProfile]:
    """The five-minute windows already stored between the first and the last of ``whens``, by start."""
    return {row.window_start: row for row in s.exec(select(WindowProfile).where(  # one query for all
        WindowProfile.version_id == version_id, WindowProfile.environment_id == env_id,
        WindowProfile.window_seconds == WINDOW_SECONDS,
        WindowProfile.window_start >= whens[0], WindowProfile.window_start <= whens[-1]))}


FINGERPRINT_SET = "fuseboard request-id set v2\x1e"  # what the fingerprints since issue 13 hash first


def _fingerprint(batch: Batch) -> tuple[str, str] | None:
    """A batch's fingerprints when it brings labelled rows that have a request id (rows still waiting
    for their labels are recognised one by one, by their pending records): the sha256 of its SET of
    request ids (sorted, behind ``FINGERPRINT_SET``, so the same rows re-sent in another order are
    the same batch), which is stored, and the sha256 of its ids in order, which is what fingerprints
    stored before were: only looked up, so a retry of a batch sent before the upgrade is still known.
    The two never coincide (the set's hash starts with its own prefix)."""
    if batch.named is None or batch.labelled is None or not (batch.labelled & batch.named).any():
        return None
    ids = ["" if v is None else v for v in batch.request_id.tolist()]
    in_order = "\x1f".join(ids)  # unit separator: not in an id
    ids.sort()
    as_set = FINGERPRINT_SET + "\x1f".join(ids)
    return tuple(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() for text in (as_set, in_order))


def _refuse_repeat(s: Any, model_id: int, env_id: int, fingerprints: tuple[str, str], rows: int,
                   source: str) -> None:
    """Refuse a batch whose request ids were all ingested before (in any order); else remember it."""
    seen = s.exec(select(IngestedBatch.created_at).where(
        IngestedBatch.model_id == model_id, IngestedBatch.environment_id == env_id,
        IngestedBatch.fingerprint.in_(fingerprints))).first()
    if seen is not None:
        raise FuseboardError(f"this batch was already ingested at {seen:%Y-%m-%d %H:%M} UTC (the same {rows:,} "
                             f"request ids); nothing was written ({source})")
    s.add(IngestedBatch(model_id=model_id, environment_id=env_id, fingerprint=fingerprints[0], rows=rows))


def _pending(s: Any, model_id: int, env_id: int, version_id: int, batch: Batch,
             source: str) -> list[dict[str, Any]]:
    """Pending-label rows for rows with a request id and no label; a repeated id is an error."""
    if batch.request_id is None:
        return []
    import numpy as np

    ids = batch.request_id
    seen: dict[str, int] = {}
    for i in np.nonzero(batch.named)[0]:
        rid = ids[i]
        if rid in seen:
            raise FuseboardError(f"request_id {rid!r} appears twice ({_where(source, seen[rid])} and "
                                 f"{_where(source, int(i))}) ({source})")
        seen[rid] = int(i)
    if seen:
        wanted = list(seen)
        known: set[str] = set()
        for chunk in range(0, len(wanted), 500):  # keep each IN (...) list small
            known |= set(s.exec(select(PendingLabel.request_id).where(
                PendingLabel.model_id == model_id, PendingLabel.environment_id == env_id,
                PendingLabel.request_id.in_(wanted[chunk:chunk + 500]))).all())
        if known:
            rid = sorted(known)[0]
            raise FuseboardError(f"request_id {rid!r} ({_where(source, seen[rid])}) was already ingested; "
                                 f"nothing was written ({source})")
    present = batch.named if batch.labelled is None else batch.named & ~batch.labelled
    now = utcnow()
    starts = _window_starts(batch.seconds)
    out = []
    for i in np.nonzero(present)[0]:
        prediction = batch.prediction.value(int(i)) if isinstance(batch.prediction, Encoded) \
            else str(batch.prediction[i])
        score = None if batch.scores is None else [float(x) for x in np.atleast_1d(batch.scores[i])]
        out.append({"model_id": model_id, "environment_id": env_id, "version_id": version_id,
                    "request_id": str(ids[i]), "window_start": _utc(starts[i]), "prediction": str(prediction),
                    "score": score, "created_at": now})
    return out


def _quality(features: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per feature, over the batch's windows: nulls, values outside the reference's range, categories
    it never saw."""
    found: dict[str, dict[str, Any]] = {}
    for name, first in features[0].items():
        profiles_ = [window[name] for window in features]
        item: dict[str, Any] = {}
        if first["kind"] == "numeric":
            outside = sum(p["counts"][0] + p["counts"][-1] for p in profiles_ if len(p["counts"]) > 2)
            if outside:
                item["out_of_range"] = outside
        else:
            unseen_rows = sum(p["value_counts"].get(windows.UNSEEN, 0) for p in profiles_)
            if unseen_rows:
                unseen = windows.merge_all(profiles_)["unseen"]
                item["unseen"] = dict(list(unseen.items())[:5])
                item["unseen_rows"] = unseen_rows
        nulls = sum(p["nulls"] for p in profiles_)
        if nulls:
            item["nulls"] = nulls
        if item:
            found[name] = item
    unknown = sum(p.get("prediction", {}).get("value_counts", {}).get(windows.UNSEEN, 0) for p in predictions
                  if p.get("prediction", {}).get("kind") == "categorical")
    if unknown:
        found["prediction"] = {"unknown_classes": unknown}
    return found


def ingest_file(ws: Workspace, model: str, env: str, path: Path, now: datetime | None = None) -> IngestResult:
    return ingest_table(ws, model, env, open_file(path), source=str(path), now=now)


# -- labels arriving later -----------------------------------------------------------------

@dataclass
class LabelResult:
    model: str
    environment: str
    rows: int
    joined: int
    unmatched: int
    windows: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ingest_labels_table(ws: Workspace, model: str, env: str, table: "pa.Table", *, source: str = "rows",
                        now: datetime | None = None) -> LabelResult:
    """Join labels to pending predictions by request id and fold them into those predictions' windows."""
    import numpy as np

    now = now or utcnow()
    columns = set(table.column_names)
    missing = [c for c in ("request_id", "label") if c not in columns]
    if missing:
        raise FuseboardError(f"missing column(s): {', '.join(map(repr, missing))} ({source})")
    if table.num_rows == 0:
        raise FuseboardError(f"no rows to ingest ({source})")
    _refuse_nested(table.select(["request_id", "label"]), {}, source)
    with ws.transaction() as s:
        m = lookup.model(s, model)
        e = lookup.environment(s, env)
        ids = _encode(table, "request_id").values()
        labels = _numbers(table, "label", source) if m.task == "regression" else _encode(table, "label").values()
        wanted = {str(r): i for i, r in enumerate(ids) if r is not None}
        pending = list(s.exec(select(PendingLabel).where(
            PendingLabel.model_id == m.id, PendingLabel.environment_id == e.id,
            PendingLabel.request_id.in_(list(wanted)))).all()) if wanted else []
        groups: dict[tuple[int, datetime], list[PendingLabel]] = {}
        for p in pending:
            groups.setdefault((p.version_id, p.window_start), []).append(p)
        for (version_id, start), items in groups.items():
            mv = s.get(ModelVersion, version_id)
            y = np.array([labels[wanted[p.request_id]] for p in items], dtype=object)
            pred = np.array([p.prediction for p in items], dtype=object)
            if m.task == "regression":
                perf = performance.fold_regression(y.astype(float), pred.astype(float))
            else:
                classes = classes_of(mv)
                scores = None
                if all(p.score is not None for p in items):
                    scores = np.array([p.score for p in items], dtype="float64")
                    scores = scores.reshape(-1) if scores.shape[1] == 1 else scores
                perf = performance.fold_classification(y, pred, classes, scores)
            row = s.exec(select(WindowProfile).where(
                WindowProfile.version_id == version_id, WindowProfile.environment_id == e.id,
                WindowProfile.window_start == start, WindowProfile.window_seconds == WINDOW_SECONDS)).first()
            if row is None:  # compacted into an hourly or daily window since: the label joins that one
                from fuseboard.monitoring.retention import containing_window

                row = containing_window(s, version_id, e.id, start)
            if row is None:  # the window was removed by retention: nothing to attach the label to
                continue
            row.performance = performance.merge(row.performance, perf) if row.performance else perf
            row.updated_at = now
            s.add(row)
            for p in items:
                s.delete(p)
    return LabelResult(m.name, e.name, table.num_rows, len(pending), table.num_rows - len(pending), len(groups))


def ingest_labels_file(ws: Workspace, model: str, env: str, path: Path, now: datetime | None = None) -> LabelResult:
    return ingest_labels_table(ws, model, env, read_file(path), source=str(path), now=now)
