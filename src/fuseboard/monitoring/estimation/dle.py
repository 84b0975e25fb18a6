"""Direct loss estimation (DLE): a regressor's MAE and RMSE without labels.

At registration two gradient-boosted trees (scikit-learn's ``HistGradientBoostingRegressor``) learn,
on labelled rows (the validation set), how large the model's error tends to be where a row lies: one
the absolute error, one the squared error, from the row's encoded features (encoding.py) and the
model's prediction. They stop adding trees once a tenth of those rows held out stops improving (a few
dozen trees rather than 200: less fitted to noise, and each tree costs every window's prediction a
fixed overhead). At ingest each row's expected absolute and squared error are predicted and their
sums folded into the window (a ``RegressionPerformance`` whose ``sum_abs_err`` and ``sum_sq_err`` are
expected, the other sums 0), so windows merge exactly; the window's estimated MAE is the mean expected
absolute error and its RMSE the root of the mean expected squared error. Predicting the trees on every
row would cost an ingest of a million rows tens of seconds: past ``sampling.SAMPLE`` rows a window's
sums come from a seeded sample of its rows, scaled up (unbiased; its sampling error is far below the
estimate's own), and the rows of all a batch's windows are predicted in one call per tree model. This
is NannyML's DLE; like CBPE it cannot see a change in the relation between inputs and labels (concept
shift).

The two trees are kept as an artifact of their own beside the model's (``LossModel``); ``load`` reads
it once per process.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any, Sequence

from fuseboard.monitoring.estimation import sampling

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["dump", "fit", "fold_windows", "load", "predict"]

SEED = 0
MIN_ROWS = 50
_LOADED: dict[str, Any] = {}


def _inputs(X: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.column_stack([X, np.asarray(prediction, dtype="float64")])


def fit(X: np.ndarray, prediction: np.ndarray, y: np.ndarray) -> tuple[Any, dict[str, float]] | None:
    """The two loss models, and the sampling spread of MAE and RMSE; None under ``MIN_ROWS`` rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Encoded rows (``encoding.design``).
    prediction, y : ndarray of shape (n_rows,)
        The model's predictions and the true values; rows where either is not finite are left out.
    """
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingRegressor

    keep = np.isfinite(prediction) & np.isfinite(y)
    X, prediction, y = X[keep], prediction[keep], y[keep]
    if y.size < MIN_ROWS:
        return None
    err = prediction - y
    Z = _inputs(X, prediction)
    models = tuple(HistGradientBoostingRegressor(max_iter=200, early_stopping=True, random_state=SEED).fit(Z, target)
                   for target in (np.abs(err), err * err))

    def metrics_of(rows: Any) -> dict[str, float]:
        e = err[rows]
        return {"mae": float(np.abs(e).mean()), "rmse": math.sqrt(float((e * e).mean()))}

    return models, sampling.spread(int(y.size), metrics_of)


def dump(models: Any) -> bytes:
    import joblib

    out = io.BytesIO()
    joblib.dump(models, out)
    return out.getvalue()


def load(path: Any, sha256: str) -> Any:
    """The loss models of an artifact (read once per process and digest)."""
    found = _LOADED.get(sha256)
    if found is None:
        import joblib

        found = _LOADED[sha256] = joblib.load(path)
    return found


def predict(models: Any, X: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's expected absolute and squared error (never below 0)."""
    import numpy as np

    Z = _inputs(X, prediction)
    return tuple(np.maximum(m.predict(Z), 0.0) for m in models)  # type: ignore[return-value]


def fold_windows(models: Any, encoded: Any, prediction: np.ndarray, windows_idx: Sequence[Any]) -> list[dict]:
    """Each window's expected error sums (rows without a finite prediction are left out).

    Parameters
    ----------
    models : object
        ``load``'s.
    encoded : encoding.Rows
        The batch's rows (only those the trees read are encoded).
    prediction : ndarray of shape (n_rows,)
    windows_idx : sequence of slice or index array

    Returns
    -------
    estimated : list, one per window
        ``{"task": "regression", "labelled": rows, "unknown_labels": rows left out, "sum_abs_err",
        "sum_sq_err"}`` with ``sum_err``, ``sum_y`` and ``sum_y2`` 0.0, or ``{}`` without rows.
    """
    import numpy as np

    prediction = np.asarray(prediction, dtype="float64")
    valid = np.isfinite(prediction)
    rng = np.random.default_rng(SEED)
    chosen: list[tuple[int, int, int] | None] = []  # per window: its rows, the rows left out, how many picked
    picks = []
    for idx in windows_idx:  # the trees predict at most SAMPLE rows of a window: sums scaled up, unbiased
        rows, total = sampling.picked(idx, prediction.size, rng, valid)
        everything = len(range(*idx.indices(prediction.size))) if isinstance(idx, slice) else len(idx)
        if not total:
            chosen.append(None)
            continue
        picks.append(rows)
        chosen.append((total, everything - total, int(rows.size)))
    if not picks:
        return [{} for _ in chosen]
    every = np.concatenate(picks)  # one prediction per model for the whole batch: the trees' set-up is paid once
    absolute, squared = predict(models, encoded.take(every), prediction[every])
    out: list[dict] = []
    at = 0
    for found in chosen:
        if found is None:
            out.append({})
            continue
        rows, left_out, size = found
        scale = rows / size
        out.append({"task": "regression", "labelled": rows, "unknown_labels": left_out, "sum_err": 0.0,
                    "sum_sq_err": float(squared[at:at + size].sum() * scale),
                    "sum_abs_err": float(absolute[at:at + size].sum() * scale), "sum_y": 0.0, "sum_y2": 0.0})
        at += size
    return out
