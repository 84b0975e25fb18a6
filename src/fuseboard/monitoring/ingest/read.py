"""Reading a batch: a CSV, Parquet or JSON Lines file (or rows handed over by serving code) as columns.

One job: turn what the user gives into something with ``column_names``, ``num_rows`` and
``column(name)`` (a pyarrow Table, or a Parquet file's columns read in the background), with one
clear error line for each way a file can fail to be read. Nothing here knows the model.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.inputs import not_a_file

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuseboard-read")
OWN = ("timestamp", "prediction", "label", "score", "request_id")  # a batch's columns besides the features
READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "json", ".ndjson": "json",
           ".json": "json"}


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
