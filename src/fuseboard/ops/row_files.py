"""The labelled rows a version is registered, refitted or measured from: CSV or Parquet files read into a
DataFrame, each way a file can be wrong one line naming it (and the input it came from)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

from fuseboard.errors import FuseboardError
from fuseboard.inputs import not_a_file

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PARQUET = (".parquet", ".pq")


def read_rows(path: Path, field: str) -> "pd.DataFrame":
    """Read a CSV or Parquet file (by its suffix; the input ``field`` names), with one clear error line for
    each way it can be wrong."""
    if path.suffix.lower() in PARQUET:
        return read_parquet(path, field)
    return read_csv(path, field)


def _check_file(path: Path, field: str, what: str) -> None:
    if not path.exists():
        raise FuseboardError(f"file not found: {path}", field=field)
    if path.is_dir():
        raise FuseboardError(f"expected a {what} file, got a directory: {path}", field=field)
    if (kind := not_a_file(path)) is not None:
        raise FuseboardError(f"expected a {what} file; {path} is {kind}", field=field)


def read_parquet(path: Path, field: str) -> "pd.DataFrame":
    """Read a Parquet file as ``read_csv`` reads a CSV one: plain columns (dictionary-encoded ones decoded,
    so a category reads as its values), each way it can fail one line naming the file.

    The file is memory-mapped while it is read (as ingest reads it): its pages come from the page cache
    rather than being copied into newly allocated buffers, whose page faults were most of the read's
    time in a new process. The columns are decoded into memory of their own: nothing refers to the
    mapping once this returns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_file(path, field, "Parquet")
    if path.stat().st_size == 0:
        raise FuseboardError(f"file is empty: {path}", field=field)
    try:
        try:  # mapped, not read into fresh buffers: 0.2 s of processor time for a million rows, not 1.5 s
            table = pq.read_table(path, memory_map=True)
        except OSError:  # a file system that cannot map it: read it (and its own error, if there is one)
            table = pq.read_table(path)
        for i, column in enumerate(table.schema):
            if pa.types.is_dictionary(column.type):
                table = table.set_column(i, column.name, table.column(i).cast(column.type.value_type))
        names = [str(n) for n in table.column_names]
        frame = table.to_pandas()
    except MemoryError:
        raise out_of_memory("read", path, field) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise FuseboardError(f"cannot read Parquet: {first} ({path})", field=field) from None
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise FuseboardError(f"duplicate column {twice!r} in {path}", field=field)
    if frame.empty:
        raise FuseboardError(f"file has columns but no data rows: {path}", field=field)
    frame.columns = names
    return frame


def read_csv(path: Path, field: str) -> "pd.DataFrame":
    """Read a CSV file (the input ``field`` names), with one clear error line for each way it can be wrong."""
    import pandas as pd

    _check_file(path, field, "CSV")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise FuseboardError(f"file is empty: {path}", field=field) from None
    except MemoryError:
        raise out_of_memory("read", path, field) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        if "out of memory" in str(exc).lower():  # the C parser's own allocation failures
            raise out_of_memory("read", path, field) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FuseboardError(f"cannot parse CSV: {first} ({path})", field=field) from None
    except OSError as exc:
        if exc.errno == errno.ENOMEM:  # the reader's buffers did not fit
            raise out_of_memory("read", path, field) from None
        raise FuseboardError(f"cannot read file: {exc.strerror} ({path})", field=field) from None
    if frame.empty:
        raise FuseboardError(f"file has a header but no data rows: {path}", field=field)
    header = _header(path)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FuseboardError(f"duplicate column {name!r} in {path}", field=field)
        seen.add(name)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def out_of_memory(doing: str, path: Path, field: str) -> FuseboardError:
    """One line for a file too big for the memory this process may use (ulimit -v, a container's
    limit that Python sees as MemoryError), with the file's size."""
    try:
        size = f" ({path.stat().st_size / 1e6:,.0f} MB)"
    except OSError:
        size = ""
    return FuseboardError(f"not enough memory to {doing} {path}{size}; nothing was registered", field=field)


def _header(path: Path) -> list[str]:
    """The header row as written (pandas renames a repeated ``x`` to ``x.1``)."""
    import csv

    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        return next(csv.reader(fh), [])
