"""Features as the multivariate models read them: one standardised float column per feature.

The PCA of multivariate drift (pca.py) and the loss models of direct loss estimation (dle.py) need a
row as numbers. Each feature becomes one column, as NannyML's data reconstruction encodes it:

* numeric: a missing value becomes the reference's mean;
* categorical: each value becomes its share of the reference's present values (a count encoding,
  normalised); a value the reference had but did not keep, the share of one such value; a value it
  never had, 0; a missing value, the share of the most frequent one;

then every column is standardised with the reference's own mean and standard deviation, so the
reference's encoded rows have mean 0 and variance 1 in every column. The encoding is fitted from
the reference's profile and its rows (``fit``) and applied to ingested columns (``design``) by the
same code, so registration and ingest read a row alike.

A column comes as a float array (numeric) or as integer codes into its distinct values (an object with
``indices`` and ``dictionary``, as ingest encodes text: ``monitoring.ingest.encode.Encoded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from fuseboard.monitoring import windows
from fuseboard.monitoring.shapes import EncodedColumn, FeatureProfile, SchemaEntry

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["Rows", "design", "fit", "raw_column"]


def _shares(reference: FeatureProfile) -> tuple[dict[str, float], float]:
    counts = {k: v for k, v in reference.get("value_counts", {}).items() if k != "__other__"}
    total = reference.get("count") or 0
    if not total:
        return {}, 0.0
    other = reference.get("value_counts", {}).get("__other__", 0)
    rest = max(1, (reference.get("distinct") or 0) - len(counts))
    return {k: v / total for k, v in counts.items()}, (other / total / rest if other else 0.0)


def _lookup(column: Any, entry: EncodedColumn, reference: FeatureProfile | None) -> np.ndarray:
    """A categorical column's value per code, with the fill last (code -1, null, reads it)."""
    import numpy as np

    shares = entry.get("shares", {})
    dictionary = list(column.dictionary)
    lut = np.array([shares.get(v, 0.0) for v in dictionary] + [entry["fill"]], dtype="float64")
    other = windows.in_other(dictionary, reference) if reference is not None and entry.get("other_share") else None
    if other is not None:
        lut[:-1][other] = entry["other_share"]
    return lut


def raw_column(column: Any, entry: EncodedColumn, reference: FeatureProfile | None = None) -> np.ndarray:
    """One feature as floats before standardising (gaps filled), per the rules above.

    Parameters
    ----------
    column : ndarray of shape (n_rows,) or Encoded
        Floats (NaN and infinities are gaps) for a numeric feature, codes for a categorical one.
    entry : EncodedColumn
    reference : FeatureProfile, optional
        The feature's reference profile: its hashes of the values it did not keep tell those values
        from ones it never had (without it, such values read as never seen).

    Returns
    -------
    values : ndarray of shape (n_rows,), float64
    """
    import numpy as np

    if entry["kind"] == "numeric":
        values = np.asarray(column, dtype="float64").copy()
        values[~np.isfinite(values)] = entry["fill"]
        return values
    return _lookup(column, entry, reference)[np.asarray(column.indices)]


def fit(columns: Mapping[str, Any], schema: Sequence[SchemaEntry], features: Mapping[str, FeatureProfile]
        ) -> list[EncodedColumn]:
    """The encoding of each feature, from the reference's profile and its rows.

    Parameters
    ----------
    columns : mapping of str to ndarray or Encoded
        The reference's features, as ingest converts them.
    schema : sequence of SchemaEntry
        The features, in the model's order.
    features : mapping of str to FeatureProfile
        The reference profile's features (their means and category counts).

    Returns
    -------
    encoding : list of EncodedColumn, one per feature in ``schema`` order
    """
    import numpy as np

    out: list[EncodedColumn] = []
    for f in schema:
        profile = features[f["name"]]
        entry: EncodedColumn = {"name": f["name"], "kind": f["kind"], "fill": 0.0, "mean": 0.0, "scale": 1.0}
        if f["kind"] == "numeric":
            entry["fill"] = float(profile.get("mean") or 0.0)
        else:
            shares, other_share = _shares(profile)
            entry["shares"] = shares
            entry["other_share"] = other_share
            entry["fill"] = max(shares.values(), default=0.0)
        values = raw_column(columns[f["name"]], entry, profile)
        mean = float(values.mean()) if values.size else 0.0
        std = float(values.std()) if values.size else 0.0
        entry["mean"], entry["scale"] = mean, (std if std > 0 and np.isfinite(std) else 1.0)
        out.append(entry)
    return out


class Rows:
    """A batch's rows as the multivariate models read them, built a block of rows at a time.

    A million rows of 25 features are 200 MB as one float64 matrix; the PCA's errors and the loss
    models need a few thousand rows at once, so ``take`` encodes just those (a categorical column's
    standardised value per code is looked up once, here).

    Parameters
    ----------
    columns : mapping of str to ndarray or Encoded
        Every feature of ``encoding``, of one length n_rows.
    encoding : sequence of EncodedColumn
        ``fit``'s.
    features : mapping of str to FeatureProfile, optional
        The reference profile's features (``raw_column``'s ``reference``).
    """

    def __init__(self, columns: Mapping[str, Any], encoding: Sequence[EncodedColumn],
                 features: Mapping[str, FeatureProfile] | None = None) -> None:
        import numpy as np

        features = features or {}
        self._parts: list[tuple[Any, EncodedColumn, Any]] = []
        self.n_rows = 0
        for entry in encoding:
            column = columns[entry["name"]]
            if entry["kind"] == "numeric":
                values = np.asarray(column, dtype="float64")
                self._parts.append((values, entry, None))
            else:
                lut = (_lookup(column, entry, features.get(entry["name"])) - entry["mean"]) / entry["scale"]
                values = np.asarray(column.indices)
                self._parts.append((values, entry, lut))
            self.n_rows = int(values.size)
        self.n_columns = len(self._parts)

    def take(self, rows: Any) -> np.ndarray:
        """Some rows, encoded and standardised.

        Parameters
        ----------
        rows : slice or ndarray of int

        Returns
        -------
        X : ndarray of shape (n_taken, n_columns), float64
            Each column contiguous (Fortran order).
        """
        import numpy as np

        out: Any = None
        for j, (values, entry, lut) in enumerate(self._parts):
            picked = values[rows]
            if out is None:
                out = np.empty((self.n_columns, picked.size), dtype="float64")
            target = out[j]
            if lut is not None:
                np.take(lut, picked, out=target, mode="wrap")  # code -1 (null) wraps to the trailing fill
                continue
            np.subtract(picked, entry["mean"], out=target)
            target /= entry["scale"]
            gaps = ~np.isfinite(target)  # NaN and infinities stay so through the arithmetic
            if gaps.any():
                target[gaps] = (entry["fill"] - entry["mean"]) / entry["scale"]
        if out is None:
            return np.zeros((0, 0))
        return out.T


def design(columns: Mapping[str, Any], encoding: Sequence[EncodedColumn],
           features: Mapping[str, FeatureProfile] | None = None) -> np.ndarray:
    """All the rows as the multivariate models read them (``Rows``, taken whole).

    Returns
    -------
    X : ndarray of shape (n_rows, n_features), float64
    """
    if not encoding:
        import numpy as np

        return np.zeros((0, 0))
    return Rows(columns, encoding, features).take(slice(None))
