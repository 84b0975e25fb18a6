"""Folding a batch's estimates into its windows: each row's reconstruction error, its expected confusion
(CBPE) or its expected errors (DLE). The reconstruction errors and DLE's losses are worked out for at
most ``sampling.SAMPLE`` rows of a window (a seeded sample beyond: the means they feed stay unbiased, and
the multivariate bounds are for the rows read); CBPE reads every row.

Called by ingest (monitoring/ingest/fold.py) once the batch's features are converted; no database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from fuseboard.monitoring import windows
from fuseboard.monitoring.estimation import cbpe, dle, encoding, pca, sampling
from fuseboard.monitoring.shapes import NumericWindow, ReferenceProfile

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["cbpe_job", "fold_batch"]


BLOCK = 32_768  # rows encoded and projected at once (few numpy calls per row, the block still in cache)
SEED = 0  # of the rows sampled from windows past sampling.SAMPLE


def cbpe_job(prediction: Any, scores: Any, reference: ReferenceProfile, task: str, classes: Sequence[str],
             windows_idx: Sequence[Any]) -> Callable[[], list[dict]] | None:
    """CBPE's fold of a batch as a job that needs no features (ingest starts it beside the features'
    folds and hands its result to ``fold_batch``), or None where the version has no calibration."""
    fitted = reference.get("estimation") or {}
    if task != "classification" or not fitted.get("cbpe") or scores is None:
        return None
    return lambda: cbpe.fold_windows(prediction.codes_for(list(classes)), scores, fitted["cbpe"], classes,
                                     windows_idx)


_CONTROLLER: Any = None


def _sequential(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    return [job() for job in jobs]


def fold_batch(columns: Mapping[str, Any], prediction: Any, scores: Any, reference: ReferenceProfile, task: str,
               classes: Sequence[str], windows_idx: Sequence[Any], loss_models: Any = None,
               run: Callable[[Sequence[Callable[[], Any]]], list[Any]] = _sequential,
               estimated: list[dict] | None = None) -> tuple[list[NumericWindow] | None, list[dict]]:
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
    run : callable, optional
        Runs a list of independent jobs and returns their results in order (ingest gives its fold
        threads); one after the other by default.
    estimated : list of dict, optional
        ``cbpe_job``'s result when the caller ran it already.

    Returns
    -------
    reconstruction : list of NumericWindow, one per window, or None without a PCA
    estimated : list of dict, one per window (``{}``: nothing estimated)
    """
    global _CONTROLLER
    if _CONTROLLER is None:  # finding the loaded libraries reads the process's maps: once per process
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):  # BLAS's own threads fight the ingest's fold threads
        return _fold(columns, prediction, scores, reference, task, classes, windows_idx, loss_models, run,
                     estimated)


def _fold(columns: Mapping[str, Any], prediction: Any, scores: Any, reference: ReferenceProfile, task: str,
          classes: Sequence[str], windows_idx: Sequence[Any], loss_models: Any,
          run: Callable[[Sequence[Callable[[], Any]]], list[Any]], estimated: list[dict] | None
          ) -> tuple[list[NumericWindow] | None, list[dict]]:
    fitted = reference.get("estimation") or {}
    rows = None
    if fitted.get("pca") or (fitted.get("dle") and loss_models is not None):
        rows = encoding.Rows(columns, fitted["encoding"], reference["features"])
    job = None
    if estimated is None:
        job = cbpe_job(prediction, scores, reference, task, classes, windows_idx)
        if job is None and task == "regression" and fitted.get("dle") and loss_models is not None:
            job = lambda: dle.fold_windows(loss_models, rows, prediction, windows_idx)  # noqa: E731
    errors, spans, projections = _projections(rows, fitted["pca"], windows_idx) if fitted.get("pca") and rows \
        else (None, [], [])
    results = run(([job] if job is not None else []) + projections)  # the estimate and the errors side by side
    if job is not None:
        estimated = results[0]
    reconstruction = None
    if errors is not None:
        folded = run([lambda group=group: windows.fold_numeric_windows(errors, group, fitted["pca"]["errors"])
                      for group in _halves(spans)])
        reconstruction = [window for part in folded for window in part]
    return reconstruction, estimated if estimated is not None else [{}] * len(windows_idx)


def _projections(rows: encoding.Rows, model: Any, windows_idx: Sequence[Any]
                 ) -> tuple[np.ndarray, list[slice], list[Callable[[], None]]]:
    """The reconstruction errors to be: an array the two jobs fill (each half of the rows read), and each
    window's span of it (its rows, or a seeded sample of them past ``sampling.SAMPLE``)."""
    import numpy as np

    rest = pca.complement(model["components"], rows.n_columns)
    rng = np.random.default_rng(SEED)
    sampled = [sampling.picked(idx, rows.n_rows, rng)[0] for idx in windows_idx]
    every = np.concatenate(sampled) if sampled else np.zeros(0, dtype=np.intp)
    cuts = np.cumsum([0] + [part.size for part in sampled]).tolist()
    errors = np.empty(every.size)

    def project(start: int, stop: int) -> None:
        for at in range(start, stop, BLOCK):
            block = slice(at, min(at + BLOCK, stop))
            errors[block] = pca.errors(rows.take(every[block]), rest=rest)

    middle = every.size // 2
    return errors, [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])], \
        [lambda: project(0, middle), lambda: project(middle, every.size)]


def _halves(spans: Sequence[slice]) -> list[Sequence[slice]]:
    """The windows' spans in two runs of about as many rows each (one run for a single window)."""
    sizes = [span.stop - span.start for span in spans]
    total, seen = sum(sizes), 0
    for cut, size in enumerate(sizes):
        if seen + size / 2 >= total / 2:
            break
        seen += size
    else:
        cut = len(sizes)
    return [part for part in (spans[:cut], spans[cut:]) if len(part)]
