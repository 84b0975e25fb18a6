"""Folding a batch's estimates into its windows: each row's reconstruction error, its expected confusion
(CBPE) or its expected errors (DLE).

Called by ingest (monitoring/ingest/fold.py) once the batch's features are converted; no database.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from fuseboard.monitoring import windows
from fuseboard.monitoring.estimation import cbpe, dle, encoding, pca
from fuseboard.monitoring.shapes import NumericWindow, ReferenceProfile

__all__ = ["fold_batch"]


def fold_batch(columns: Mapping[str, Any], prediction: Any, scores: Any, reference: ReferenceProfile, task: str,
               classes: Sequence[str], windows_idx: Sequence[Any], loss_models: Any = None
               ) -> tuple[list[NumericWindow] | None, list[dict]]:
    """The reconstruction-error column and the estimated performance of each window of a batch.

    Parameters
    ----------
    columns : mapping of str to ndarray or Encoded
        The batch's features, converted as ingest converts them.
    prediction : ndarray (regression) or Encoded (classification)
    scores : ndarray of shape (n_rows,) or (n_rows, n_classes), or None
    reference : ReferenceProfile
        Its ``estimation`` (nothing is folded for what it lacks).
    task : {"classification", "regression"}
    classes : sequence of str
    windows_idx : sequence of slice or index array
    loss_models : object, optional
        The loaded DLE models (``dle.load``) when the version keeps them.

    Returns
    -------
    reconstruction : list of NumericWindow, one per window, or None without a PCA
    estimated : list of dict, one per window (``{}``: nothing estimated)
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # BLAS's own threads fight the ingest's fold threads
        return _fold(columns, prediction, scores, reference, task, classes, windows_idx, loss_models)


def _fold(columns: Mapping[str, Any], prediction: Any, scores: Any, reference: ReferenceProfile, task: str,
          classes: Sequence[str], windows_idx: Sequence[Any], loss_models: Any
          ) -> tuple[list[NumericWindow] | None, list[dict]]:
    fitted = reference.get("estimation") or {}
    n = len(windows_idx)
    reconstruction = None
    X = None
    if fitted.get("pca") or (fitted.get("dle") and loss_models is not None):
        X = encoding.design(columns, fitted["encoding"], reference["features"])
    if fitted.get("pca"):
        errors = pca.errors(X, fitted["pca"]["components"])
        reconstruction = windows.fold_numeric_windows(errors, windows_idx, fitted["pca"]["errors"])
    estimated: list[dict] = [{}] * n
    if task == "classification" and fitted.get("cbpe") and scores is not None:
        estimated = cbpe.fold_windows(prediction.codes_for(list(classes)), scores, fitted["cbpe"], classes,
                                      windows_idx)
    elif task == "regression" and fitted.get("dle") and loss_models is not None:
        estimated = dle.fold_windows(loss_models, X, prediction, windows_idx)
    return reconstruction, estimated
