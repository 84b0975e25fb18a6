"""Reference profiles: what a model's data looked like when it was validated.

A profile is plain JSON-able data, so it can be stored with the version and
compared later without the raw rows:

* numeric feature: count, nulls, mean, std, min, max, quantiles, and
  quantile bin edges with the count of reference values in each bin
  (``edges`` has ``bins + 1`` entries; the first and last bins are open-ended
  when drift checks compare new data against them); a value holding at least 5% of the values
  (``histograms.POINT_SHARE``: the zeros of a zero-inflated amount) gets a bin of its own and the
  rest get the quantile bins. ``fine``: the same at every percentile and log-spaced tail levels,
  with the widest bins halved, and where in each bin its values lie (``positions``), for the KS,
  Jensen-Shannon and Wasserstein checks (histograms.py);
* categorical feature: count, nulls and the count of every value, as text (``categories.canonical``:
  1.0 counts as ``"1"``); past ``MAX_CATEGORIES`` distinct
  values, the most frequent ones and ``__other__`` (the count of all the rest), with
  ``other_hashes``: the rest's values as a sorted array of 64-bit hashes (the first 8 bytes of each
  value's blake2b digest, little-endian, base64), so a value the reference had among the rest is
  compared as ``__other__`` rather than taken for one it never saw (exact up to a hash collision:
  about n / 2**64 per value for n hashed values). Past ``MAX_HASHED`` distinct values the list is
  not kept (``null``): every value outside the kept ones then counts as ``__other__``, none as
  unseen. Profiles written before ``other_hashes`` existed have none: the rest counts as unseen.

Which kind a column is (``infer_kind``): text is categorical; numbers are numeric, except booleans
and *integer codes*: a numeric column whose values are all integers (1.0 counts), with at most
``MAX_INTEGER_CATEGORIES`` (20) distinct values, each seen twice on average (at least twice as many
values as distinct ones), is categorical, so a 0/1 flag or a small code's drift is seen value by
value. ``--feature NAME=numeric`` (``feature_schema``'s overrides) keeps such a column numeric.

Their shapes are TypedDicts in shapes.py (``NumericProfile``, ``CategoricalProfile``, ``ReferenceProfile``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fuseboard.errors import FuseboardError
from fuseboard.monitoring.categories import (MAX_CATEGORIES, MAX_HASHED, OTHER, canonical,  # noqa: F401
                                             categorical_profile, pack_hashes, str_value_counts, unpack_hashes,
                                             value_hashes)
from fuseboard.monitoring.histograms import (bin_positions, fine_histogram, point_mass_histogram,  # noqa: F401
                                             quantile_histogram, sorted_histogram_counts, sorted_quantile_histogram,
                                             sorted_quantiles)
from fuseboard.monitoring.shapes import FeatureProfile, Kind, NumericProfile, ReferenceProfile, SchemaEntry

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)
DEFAULT_BINS = 10
# Quantile levels of the fine bins behind the KS and Wasserstein checks: every percentile, plus
# log-spaced levels in both tails, whose bins would otherwise be too wide to place the mass well.
FINE_TAIL_LEVELS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MAX_INTEGER_CATEGORIES = 20  # integer columns with at most this many distinct values are categorical
INTEGER_SAMPLE = 10_000  # rows looked at first: more distinct values there than allowed settles it


def infer_kind(series: "pd.Series") -> Kind:
    """The kind of a column: ``categorical`` for text, booleans and integer codes, else ``numeric``.

    Parameters
    ----------
    series : pandas.Series of shape (n_rows,)
        A column of any dtype.

    Returns
    -------
    kind : {"numeric", "categorical"}
        See ``inferred`` for the rule.
    """
    return inferred(series)[0]


def inferred(series: "pd.Series") -> tuple[Kind, str | None]:
    """The kind of a column, and why a column of numbers is categorical.

    Text is categorical, numbers numeric, except booleans and integer codes: every present value an
    integer (integral floats too), at most ``MAX_INTEGER_CATEGORIES`` distinct values, and at least
    twice as many values as distinct ones (a handful of rows of a genuinely continuous integer
    column stays numeric).

    Parameters
    ----------
    series : pandas.Series of shape (n_rows,)
        A column of any dtype.

    Returns
    -------
    kind : {"numeric", "categorical"}
    reason : str or None
        For numbers profiled as categories: ``"boolean"`` or ``"integer with 2 values"``; else None.
    """
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return CATEGORICAL, "boolean"
    if not pd.api.types.is_numeric_dtype(series):
        return CATEGORICAL, None
    distinct = integer_codes(series)
    if distinct is None:
        return NUMERIC, None
    return CATEGORICAL, f"integer with {distinct} value{'s' if distinct != 1 else ''}"


def integer_codes(series: "pd.Series") -> int | None:
    """How many distinct values a numeric column of integer codes holds; None if it is not one.

    Parameters
    ----------
    series : pandas.Series of shape (n_rows,)
        Numbers (NaN and infinities are left out).

    Returns
    -------
    distinct : int or None
        The distinct values, when every present value is an integer, there are at most
        ``MAX_INTEGER_CATEGORIES`` of them and at least twice as many present values; else None
        (also for a column without values).
    """
    import numpy as np

    values = np.asarray(series.to_numpy(dtype="float64", na_value=np.nan))
    head = values[:INTEGER_SAMPLE]
    for part in (head, values) if values.size > INTEGER_SAMPLE else (values,):
        present = part[np.isfinite(part)]
        if present.size == 0 or not np.array_equal(present, np.floor(present)):
            return None
        distinct = np.unique(present).size
        if distinct > MAX_INTEGER_CATEGORIES:
            return None
    if present.size < 2 * distinct:
        return None
    return int(distinct)


def feature_schema(frame: "pd.DataFrame", overrides: dict[str, str] | None = None) -> list[SchemaEntry]:
    """One ``{"name", "kind", "dtype"}`` entry per column, in column order.

    A column of numbers inferred categorical (``inferred``) says why in ``"inferred"``
    (``"integer with 2 values"``), so registering can tell the person and how to override it.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_features)
        The reference features.
    overrides : dict of str to str, optional
        Column name -> ``"numeric"`` or ``"categorical"``, where the person said which (else inferred
        by ``inferred``).

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
        guess, reason = inferred(frame[name])
        kind = overrides.get(name) or guess
        if kind not in KINDS:
            raise FuseboardError(f"{name}={kind}: a feature's kind must be numeric or categorical", field="feature")
        if kind == NUMERIC and guess != NUMERIC and reason is None:
            _require_numbers(frame[name])
        entry: SchemaEntry = {"name": str(name), "kind": kind, "dtype": str(frame[name].dtype)}
        if reason is not None and name not in overrides:
            entry["inferred"] = reason
        schema.append(entry)
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
        ``edges`` at the ``bins + 1`` evenly spaced quantiles (repeats dropped; a bin of its own for
        each point mass: ``histograms.point_mass_histogram``), ``counts`` the values in each bin;
        ``fine`` the same at every percentile and ``FINE_TAIL_LEVELS`` in both tails, the widest
        bins halved, with ``positions`` (``histograms.fine_histogram``, ``bin_positions``).
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
    edges, counts = point_mass_histogram(finite, np.linspace(0.0, 1.0, bins + 1))
    levels = np.unique(np.concatenate([np.linspace(0.0, 1.0, 101), FINE_TAIL_LEVELS,
                                       1.0 - np.asarray(FINE_TAIL_LEVELS)]))
    fine_edges, fine_counts, halved = fine_histogram(finite, levels)
    out.update(
        mean=mean,
        std=std,
        min=low,
        max=high,
        quantiles={f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, sorted_quantiles(finite, QUANTILES))},
        edges=[float(e) for e in edges],
        counts=[int(c) for c in counts],
        fine={"edges": [float(e) for e in fine_edges], "counts": [int(c) for c in fine_counts],
              "positions": bin_positions(finite, fine_edges), "halved": halved},
    )
    return out


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
