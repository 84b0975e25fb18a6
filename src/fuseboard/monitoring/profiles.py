"""Reference profiles: what a model's data looked like when it was validated.

A profile is plain JSON-able data, so it can be stored with the version and
compared later without the raw rows:

* numeric feature: count, nulls, mean, std, min, max, quantiles, and
  quantile bin edges with the count of reference values in each bin
  (``edges`` has ``bins + 1`` entries; the first and last bins are open-ended
  when drift checks compare new data against them);
* categorical feature: count, nulls and the count of every value; past ``MAX_CATEGORIES`` distinct
  values, the most frequent ones and ``__other__`` (the count of all the rest), with
  ``other_hashes``: the rest's values as a sorted array of 64-bit hashes (the first 8 bytes of each
  value's blake2b digest, little-endian, base64), so a value the reference had among the rest is
  compared as ``__other__`` rather than taken for one it never saw (exact up to a hash collision:
  about n / 2**64 per value for n hashed values). Past ``MAX_HASHED`` distinct values the list is
  not kept (``null``): every value outside the kept ones then counts as ``__other__``, none as
  unseen. Profiles written before ``other_hashes`` existed have none: the rest counts as unseen.

Their shapes are TypedDicts in shapes.py (``NumericProfile``, ``CategoricalProfile``, ``ReferenceProfile``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.shapes import (CategoricalProfile, FeatureProfile, Kind, NumericProfile, ReferenceProfile,
                                         SchemaEntry)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)
DEFAULT_BINS = 10
# Quantile levels of the fine bins behind the KS and Wasserstein checks: every percentile, plus
# log-spaced levels in both tails, whose bins would otherwise be too wide to place the mass well.
FINE_TAIL_LEVELS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MAX_CATEGORIES = 200  # beyond this, the rarest values are folded into "__other__"
OTHER = "__other__"
MAX_HASHED = 1_000_000  # distinct values beyond the kept ones whose hashes are kept (8 MB; 10.7 MB as base64)


def infer_kind(series: "pd.Series") -> Kind:
    """The kind of a column: ``numeric`` for numbers (booleans count as categories), else ``categorical``.

    Parameters
    ----------
    series : pandas.Series of shape (n_rows,)
        A column of any dtype.

    Returns
    -------
    kind : {"numeric", "categorical"}
    """
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(series):
        return NUMERIC
    return CATEGORICAL


def feature_schema(frame: "pd.DataFrame", overrides: dict[str, str] | None = None) -> list[SchemaEntry]:
    """One ``{"name", "kind", "dtype"}`` entry per column, in column order.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_features)
        The reference features.
    overrides : dict of str to str, optional
        Column name -> ``"numeric"`` or ``"categorical"``, where the person said which (else inferred
        by ``infer_kind``).

    Returns
    -------
    schema : list of SchemaEntry, n_features entries

    Raises
    ------
    FuseboardError
        (field ``feature``) An override names a column not in ``frame``, gives another kind, or
        declares numeric a column that holds text.
    """
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(frame.columns))
    if unknown:
        raise FuseboardError(f"a feature kind names a column that is not in the data: {unknown[0]!r}",
                             field="feature")
    schema: list[SchemaEntry] = []
    for name in frame.columns:
        kind = overrides.get(name) or infer_kind(frame[name])
        if kind not in KINDS:
            raise FuseboardError(f"{name}={kind}: a feature's kind must be numeric or categorical", field="feature")
        if kind == NUMERIC and infer_kind(frame[name]) != NUMERIC:
            _require_numbers(frame[name])
        schema.append({"name": str(name), "kind": kind, "dtype": str(frame[name].dtype)})
    return schema


def parse_numbers(series: "pd.Series") -> tuple["pd.Series", int | None, float]:
    """Numbers from a column, and where it holds something else.

    Blank text counts as missing. Every "text where a number belongs" error uses this.

    Parameters
    ----------
    series : pandas.Series of shape (n_rows,)
        A column of any dtype.

    Returns
    -------
    values : pandas.Series of shape (n_rows,), float64 (or the column's own numeric dtype)
        The numbers, NaN where a cell is missing or does not parse.
    first_bad : int or None
        Position of the first cell that holds something but not a number; None if there is none.
    share : float
        Share of the present cells that parse, in [0, 1] (1.0 when no cell is present).
    """
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce")
    present = series.notna()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        present &= series.astype(str).str.strip() != ""
    bad = present & values.isna()
    n_present = int(present.sum())
    first = int(bad.to_numpy().nonzero()[0][0]) if bad.any() else None
    return values, first, (n_present - int(bad.sum())) / n_present if n_present else 1.0


def _require_numbers(series: "pd.Series") -> None:
    _, row, _ = parse_numbers(series)
    if row is not None:
        raise FuseboardError(f"{series.name}=numeric, but line {row + 2} holds {str(series.iloc[row])!r}",
                             field="feature")


def numeric_profile(values: "pd.Series", bins: int = DEFAULT_BINS) -> NumericProfile:
    """Profile a numeric reference column: moments, quantiles, and its decile and fine histograms.

    Parameters
    ----------
    values : pandas.Series of shape (n_rows,)
        Numbers (text that does not parse, NaN and infinities count as nulls).
    bins : int, default=10
        Quantile bins of the coarse histogram (fewer when values repeat: equal edges merge).

    Returns
    -------
    profile : NumericProfile
        ``edges`` at the ``bins + 1`` evenly spaced quantiles (repeats dropped), ``counts`` the values
        in each bin; ``fine`` the same at every percentile and ``FINE_TAIL_LEVELS`` in both tails.
        Without a finite value: ``None`` moments and empty histograms, no ``fine``.
    """
    import numpy as np
    import pandas as pd

    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = arr[np.isfinite(arr)]  # a new array (boolean indexing copies): sorting it in place below is safe
    nulls = int(arr.size - finite.size)
    out: NumericProfile = {"kind": NUMERIC, "count": int(finite.size), "nulls": nulls}
    if finite.size == 0:
        out.update(mean=None, std=None, min=None, max=None, quantiles={}, edges=[], counts=[])
        return out
    # the scalars before sorting: summed in the data's own order, as they always were (and min/max
    # as np.min/np.max pick among equal values, e.g. -0.0 and 0.0), so they keep their exact values
    mean = float(finite.mean())
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    low, high = float(finite.min()), float(finite.max())
    # one sort, from which every quantile, edge and count below is read (np.quantile would copy and
    # partition the whole column again for each call)
    finite.sort()
    edges, counts = sorted_quantile_histogram(finite, np.linspace(0.0, 1.0, bins + 1))
    levels = np.unique(np.concatenate([np.linspace(0.0, 1.0, 101), FINE_TAIL_LEVELS,
                                       1.0 - np.asarray(FINE_TAIL_LEVELS)]))
    fine_edges, fine_counts = sorted_quantile_histogram(finite, levels)
    out.update(
        mean=mean,
        std=std,
        min=low,
        max=high,
        quantiles={f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, sorted_quantiles(finite, QUANTILES))},
        edges=[float(e) for e in edges],
        counts=[int(c) for c in counts],
        fine={"edges": [float(e) for e in fine_edges], "counts": [int(c) for c in fine_counts]},
    )
    return out


def sorted_quantiles(xs: np.ndarray, levels: np.ndarray | Sequence[float]) -> np.ndarray:
    """``np.quantile(xs, levels)`` (numpy's default ``linear`` method) of finite values sorted ascending.

    The same arithmetic as numpy's, step for step (indexes, gamma, and its two-sided ``_lerp``), so the
    same bits, without np.quantile's copy and partition of the whole array on every call.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1].

    Returns
    -------
    quantiles : ndarray of shape (n_levels,), float64
        Bit for bit ``np.quantile(xs, levels)``.
    """
    import numpy as np

    n = int(xs.size)
    virtual = (n - 1) * np.asarray(levels, dtype="float64")
    previous = np.floor(virtual)
    following = previous + 1
    top = virtual >= n - 1  # numpy takes the last value there (index -1, which gamma is measured from)
    previous[top] = following[top] = -1
    bottom = virtual < 0
    previous[bottom] = following[bottom] = 0
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    gamma = virtual - previous
    a, b = xs[previous], xs[following]
    diff = b - a
    result = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    return result


def sorted_histogram_counts(xs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(xs, bins=edges)[0]`` for values sorted ascending: bins are [a, b) except the last,
    which also holds b, and values outside [edges[0], edges[-1]] are not counted (numpy locates the edges
    in sorted blocks of the data the same way; ``windows.sorted_histogram`` counts current data alike).

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending.
    edges : ndarray of shape (n_bins + 1,), float64
        Bin edges, increasing; ``n_bins >= 1``.

    Returns
    -------
    counts : ndarray of shape (n_bins,), intp
    """
    import numpy as np

    cumulative = np.concatenate((np.searchsorted(xs, edges[:-1], side="left"),
                                 np.searchsorted(xs, edges[-1:], side="right")))
    return np.diff(cumulative)


def sorted_quantile_histogram(xs: np.ndarray, levels: np.ndarray | Sequence[float]
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Edges at the sorted values' quantiles ``levels`` (repeats dropped) and the count in each bin.

    Parameters
    ----------
    xs : ndarray of shape (n_samples,), float64
        Finite values sorted ascending; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1], increasing, usually from 0 to 1.

    Returns
    -------
    edges : ndarray of shape (n_edges,), float64
        The distinct quantiles, increasing (``n_edges <= n_levels``); a constant column gets the
        two edges ``[value, value]``.
    counts : ndarray of shape (n_edges - 1,), intp
        The values in each bin (as ``sorted_histogram_counts``).
    """
    import numpy as np

    edges = np.unique(sorted_quantiles(xs, levels))
    if edges.size == 1:  # a constant column: one bin around the value
        return np.array([edges[0], edges[0]]), np.array([xs.size])
    return edges, sorted_histogram_counts(xs, edges)


def quantile_histogram(finite: np.ndarray, levels: np.ndarray | Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Edges at the data's quantiles ``levels`` (repeats dropped) and the count in each bin.

    Parameters
    ----------
    finite : ndarray of shape (n_samples,), float64
        Finite values in any order; ``n_samples >= 1``.
    levels : array-like of shape (n_levels,)
        Quantile levels in [0, 1], increasing.

    Returns
    -------
    edges, counts : ndarray
        As ``sorted_quantile_histogram`` returns them.
    """
    import numpy as np

    return sorted_quantile_histogram(np.sort(finite), levels)


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
    """``values.dropna().astype(str).value_counts()``: the count of each present value as text, most
    frequent first, ties in order of first appearance; without turning every row into a str.

    A pandas Categorical (as a dictionary-encoded read gives) is counted on its codes and only the
    categories that occur are turned into text, by the same ``astype(str)``; an object column of str is
    counted as it is. Anything else, or any case where two values would print alike, takes the
    direct way.

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
        names = pd.Series(pd.Categorical.from_codes(seen, dtype=dtype)).astype(str)
        if names.isna().any() or not names.is_unique:
            return values.dropna().astype(str).value_counts()
        counts = pd.Series(tally.astype("int64"), index=pd.Index(names.to_numpy(dtype=object), dtype=object),
                           name="count")
        return counts.sort_values(ascending=False, kind="stable")  # as value_counts sorts
    if dtype == object:
        counts = values.dropna().value_counts()  # first appearance, then a stable sort, as on text
        if all(isinstance(k, str) for k in counts.index):  # else 1, 1.0 and True would count as one value
            return counts
    return values.dropna().astype(str).value_counts()


def profile_column(values: "pd.Series", kind: str, bins: int = DEFAULT_BINS) -> FeatureProfile:
    """``numeric_profile`` or ``categorical_profile`` of a column, by ``kind``.

    Parameters
    ----------
    values : pandas.Series of shape (n_rows,)
    kind : {"numeric", "categorical"}
    bins : int, default=10
        Quantile bins of a numeric column's histogram.

    Returns
    -------
    profile : NumericProfile or CategoricalProfile
    """
    return numeric_profile(values, bins) if kind == NUMERIC else categorical_profile(values)


def build_profile(
    frame: "pd.DataFrame",
    schema: list[SchemaEntry],
    *,
    target: "pd.Series | None" = None,
    target_kind: str | None = None,
    predictions: "pd.Series | None" = None,
    prediction_kind: str | None = None,
    bins: int = DEFAULT_BINS,
) -> ReferenceProfile:
    """Profile every feature in ``schema`` (and the target and predictions, if given).

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
        The reference data; it holds every column ``schema`` names.
    schema : list of SchemaEntry
        The features to profile (``feature_schema``).
    target, predictions : pandas.Series of shape (n_rows,), optional
        The labels and the model's predictions on ``frame``.
    target_kind, prediction_kind : {"numeric", "categorical"}, optional
        Their kinds (inferred when not given).
    bins : int, default=10
        Quantile bins of each numeric histogram.

    Returns
    -------
    profile : ReferenceProfile
    """
    profile: ReferenceProfile = {
        "rows": int(len(frame)),
        "bins": bins,
        "features": {f["name"]: profile_column(frame[f["name"]], f["kind"], bins) for f in schema},
    }
    if target is not None:
        profile["target"] = profile_column(target, target_kind or infer_kind(target), bins)
    if predictions is not None:
        profile["predictions"] = profile_column(predictions, prediction_kind or infer_kind(predictions), bins)
    return profile


__all__ = ["build_profile", "feature_schema", "infer_kind", "NUMERIC", "CATEGORICAL"]
