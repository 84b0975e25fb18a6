"""Categorical profiles: the count of each value as text, the values not kept as hashes.

One text per value, whatever type it was read as (``canonical``): an integral float prints as the
integer (``1.0`` -> ``"1"``, so a column read as floats because it has a gap matches the same
column read as integers), other floats as Python prints them (the shortest text that reads back
the same number), booleans as ``True``/``False``, anything else by its ``str``. The reference's
profiles (here), the windows (windows.py) and ingest's encoding (ingest/encode.py) all use it.

Past ``MAX_CATEGORIES`` distinct values, the most frequent ones and ``__other__`` (the count of all
the rest) are kept, with ``other_hashes``: the rest's values as a sorted array of 64-bit hashes (see
profiles.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fuseboard.monitoring.shapes import CategoricalProfile

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

CATEGORICAL = "categorical"
MAX_CATEGORIES = 200  # beyond this, the rarest values are folded into "__other__"
OTHER = "__other__"
MAX_HASHED = 1_000_000  # distinct values beyond the kept ones whose hashes are kept (8 MB; 10.7 MB as base64)
INT64_LIMIT = 2.0 ** 63  # integral floats below this print as integers (as an int64 column would)


def canonical(value: Any) -> str:
    """A category's text: integral floats as integers, other floats as Python prints them.

    Parameters
    ----------
    value : Any
        A present value (not None or NaN).

    Returns
    -------
    text : str
        ``"1"`` for 1, 1.0 and -0.0 + 1; ``"0.5"`` for 0.5; ``"1e+20"`` for 1e20 (beyond int64);
        ``"True"`` for True; ``str(value)`` otherwise.
    """
    import numpy as np

    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer() and abs(number) < INT64_LIMIT:
            return str(int(number))
        return str(value) if isinstance(value, np.float32) else str(number)
    return str(value)


def _canonical_index(counts: "pd.Series") -> "pd.Series":
    """``counts`` with its index turned into canonical text; values whose texts coincide added up
    (their order: most frequent first, ties in order of first appearance)."""
    import pandas as pd

    names = [canonical(k) for k in counts.index]
    out = pd.Series(counts.to_numpy(), index=pd.Index(names, dtype=object), name="count")
    if not out.index.is_unique:
        out = out.groupby(level=0, sort=False).sum().sort_values(ascending=False, kind="stable")
    return out


def categorical_profile(values: "pd.Series") -> CategoricalProfile:
    """Profile a categorical reference column: the count of each value, as text.

    Parameters
    ----------
    values : pandas.Series of shape (n_rows,)
        Any dtype; NaN and None count as nulls, every other value by its ``str``.

    Returns
    -------
    profile : CategoricalProfile
        The ``MAX_CATEGORIES`` most frequent values; past them, ``__other__`` counts the rest and
        ``other_hashes`` lists them (None past ``MAX_HASHED`` of them).
    """
    nulls = int(values.isna().sum())
    counts = str_value_counts(values)
    top = counts.iloc[:MAX_CATEGORIES]
    value_counts = {str(k): int(v) for k, v in top.items()}
    rest = int(counts.iloc[MAX_CATEGORIES:].sum())
    out: CategoricalProfile = {
        "kind": CATEGORICAL,
        "count": int(counts.sum()),
        "nulls": nulls,
        "distinct": int(counts.size),
        "value_counts": value_counts,
    }
    if rest:
        value_counts[OTHER] = rest
        others = [str(k) for k in counts.index[MAX_CATEGORIES:]]
        out["other_hashes"] = pack_hashes(value_hashes(others)) if len(others) <= MAX_HASHED else None
    return out


def value_hashes(values: list[str]) -> np.ndarray:
    """Each value's 64-bit hash (blake2b, 8 bytes, little-endian) as a uint64 array, in order.

    Parameters
    ----------
    values : list of str, n_values entries

    Returns
    -------
    hashes : ndarray of shape (n_values,), dtype ``<u8``
        Read-only (a view of the digests' bytes).
    """
    import hashlib

    import numpy as np

    digest = b"".join(hashlib.blake2b(v.encode("utf-8", "surrogatepass"), digest_size=8).digest() for v in values)
    return np.frombuffer(digest, dtype="<u8")


def pack_hashes(hashes: np.ndarray) -> str:
    """A hash array as stored in a profile: sorted, little-endian, base64.

    Parameters
    ----------
    hashes : array-like of shape (n_values,), uint64

    Returns
    -------
    text : str
        Base64 of the sorted hashes' ``8 * n_values`` bytes (``other_hashes`` in a profile).
    """
    import base64

    import numpy as np

    return base64.b64encode(np.sort(np.asarray(hashes, dtype="<u8")).tobytes()).decode("ascii")


def unpack_hashes(text: str) -> np.ndarray:
    """The hashes ``pack_hashes`` stored.

    Parameters
    ----------
    text : str
        A profile's ``other_hashes``.

    Returns
    -------
    hashes : ndarray of shape (n_values,), dtype ``<u8``
        Sorted ascending, read-only.
    """
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype="<u8")


def str_value_counts(values: "pd.Series") -> "pd.Series":
    """The count of each present value as its text (``canonical``), most frequent first, ties in order
    of first appearance; without turning every row into a str.

    A pandas Categorical (as a dictionary-encoded read gives) is counted on its codes and only the
    categories that occur are turned into text; an object column of str is counted as it is; a float
    column is counted on its numbers and only the distinct ones turned into text. Integers, booleans
    and anything else print as ``astype(str)`` prints them; an object column of mixed types value by
    value (so 1, 1.0 and True, which Python takes for one key, are told apart by their text).

    Parameters
    ----------
    values : pandas.Series of shape (n_rows,)

    Returns
    -------
    counts : pandas.Series of shape (n_distinct,), int64
        Indexed by the values as text, most frequent first.
    """
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes)
        present = codes[codes >= 0]
        if present.size == 0:
            return values.dropna().astype(str).value_counts()
        seen = pd.unique(present)  # the categories that occur, in order of first appearance
        tally = np.bincount(present, minlength=len(dtype.categories))[seen]
        if pd.api.types.is_float_dtype(dtype.categories.dtype):
            names = pd.Series([canonical(v) for v in dtype.categories[seen]], dtype=object)
        else:
            names = pd.Series(pd.Categorical.from_codes(seen, dtype=dtype)).astype(str)
        if names.isna().any() or not names.is_unique:
            return values.dropna().map(canonical).value_counts()
        counts = pd.Series(tally.astype("int64"), index=pd.Index(names.to_numpy(dtype=object), dtype=object),
                           name="count")
        return counts.sort_values(ascending=False, kind="stable")  # as value_counts sorts
    if dtype == object:
        present = values.dropna()
        counts = present.value_counts()  # first appearance, then a stable sort, as on text
        if all(isinstance(k, str) for k in counts.index):  # else 1, 1.0 and True would count as one value
            return counts
        return present.map(canonical).value_counts()
    if pd.api.types.is_float_dtype(dtype):
        return _canonical_index(values.dropna().value_counts())
    return values.dropna().astype(str).value_counts()
