"""Encoding a column: numbers as a float array, text as integer codes into its distinct values.

One job: the conversions validation and folding share, in pyarrow and numpy (no row-by-row
Python). A cell that is not a number where one is needed is an error naming its row
(``_where``: rows as users count them). ``_POOL`` is the two threads columns are converted and
folded on, side by side (pyarrow and numpy let go of the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import profiles
from fuseboard.monitoring.categories import canonical

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

    from fuseboard.monitoring.ingest.read import ParquetColumns

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fuseboard-fold")


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
    """Dictionary-encode a column as text (1.0 read from a file means "1", as ``categories.canonical``
    writes it), in pyarrow."""
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
    elif pa.types.is_floating(dictionary.type):  # 1.0 beside 1.5 is "1", as the reference counted it
        values = [canonical(v) for v in dictionary.to_pylist()]
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


def _feature(table: "pa.Table | ParquetColumns", name: str, kind: str, source: str) -> Any:
    """A feature column converted for folding: floats, or text as integer codes."""
    return _numbers(table, name, source) if kind == "numeric" else _encode(table, name)

