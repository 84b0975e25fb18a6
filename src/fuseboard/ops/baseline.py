"""The baseline a version's performance checks compare with, and how honest it is.

``register`` measures a version's metrics once; every performance check then compares the labelled
windows with them. Three ways, best first:

* ``validation``: on the ``--validation`` file, rows the model has not seen (if you kept them apart);
* ``cross-validated``: without one, by cross-validation on the reference: a clone of the estimator
  (``sklearn.base.clone``: the same pipeline and hyperparameters, unfitted) is fitted on four fifths
  of the reference and predicts the fifth it did not see, five times (``CV_FOLDS``; stratified by
  class for classifiers; shuffled with a fixed seed), and the metrics are measured on those
  out-of-fold predictions, as ``sklearn.model_selection.cross_val_predict`` makes them (one fit per
  fold). References above ``CV_MAX_ROWS`` rows are cross-validated on that many rows drawn at random
  (seeded), which bounds the time; the metrics say on how many rows;
* ``in-sample``: the artifact itself on the reference, only when cross-validation cannot run (the
  estimator cannot be cloned, a fold's fit or prediction fails, a class has a single row). If the
  model was fitted on the reference, these metrics are optimistic and every window looks degraded:
  ``register`` says so loudly, ``models show`` marks the version.

The metrics of a reference the model was *not* fitted on are honest in-sample too: give that file
as ``--validation`` as well.

Stored with the metrics (``ModelVersion.validation_metrics``): ``_dataset`` (``validation`` or
``reference``), ``_rows``, ``_baseline`` (the method), ``_folds`` and ``_baseline_note`` (why a
baseline is in-sample). Versions registered before ``_baseline`` existed read as ``validation`` or
``in-sample`` from ``_dataset``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import metrics as metrics_mod
from fuseboard.monitoring.shapes import ValidationMetrics

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

CV_FOLDS = 5
CV_MAX_ROWS = 20_000
SEED = 0
Method = Literal["validation", "cross-validated", "in-sample", "unknown"]
SHORT = {"validation": "validation", "cross-validated": "cv", "in-sample": "in-sample", "unknown": "-"}


@dataclass(frozen=True)
class Baseline:
    """How a version's baseline metrics were measured."""

    method: Method
    rows: int  # the rows they were measured on (0: not recorded)
    folds: int = 0  # cross-validated: the number of folds
    note: str = ""  # in-sample: why cross-validation did not run

    def text(self) -> str:
        """e.g. ``cross-validated on the reference (5 folds, 1,200 rows)``."""
        rows = f"{self.rows:,} rows" if self.rows else "rows not recorded"
        if self.method == "validation":
            return f"on the validation data ({rows})"
        if self.method == "cross-validated":
            return f"cross-validated on the reference ({self.folds} folds, {rows})"
        if self.method == "in-sample":
            return f"in-sample on the reference ({rows}; optimistic if the model was fitted on it)"
        return "not recorded"

    def short(self) -> str:
        """A table cell: ``validation``, ``cv 5-fold``, ``in-sample``."""
        return f"cv {self.folds}-fold" if self.method == "cross-validated" else SHORT[self.method]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text()}

    def stored(self) -> dict[str, Any]:
        """The bookkeeping keys stored beside the metrics."""
        out: dict[str, Any] = {"_dataset": "validation" if self.method == "validation" else "reference",
                               "_rows": self.rows, "_baseline": self.method}
        if self.folds:
            out["_folds"] = self.folds
        if self.note:
            out["_baseline_note"] = self.note
        return out


def of(metrics: ValidationMetrics | None) -> Baseline:
    """The baseline a version's stored metrics record (older versions: from ``_dataset``)."""
    metrics = metrics or {}
    rows = metrics.get("_rows")
    rows = int(rows) if isinstance(rows, (int, float)) else 0
    method = metrics.get("_baseline")
    if method in ("validation", "cross-validated", "in-sample"):
        folds = metrics.get("_folds")
        return Baseline(method, rows, int(folds) if isinstance(folds, (int, float)) else 0,
                        str(metrics.get("_baseline_note", "")))
    dataset = metrics.get("_dataset")
    if dataset == "validation":
        return Baseline("validation", rows)
    if dataset == "reference":
        return Baseline("in-sample", rows, note="registered before baselines were cross-validated")
    return Baseline("unknown", rows)


class NotCrossValidated(Exception):
    """Cross-validation could not run; the message says why, in a user's words."""


@dataclass
class OutOfFold:
    """Out-of-fold predictions of a cross-validation (``cross_validate``)."""

    rows: Any  # ndarray of intp: the reference rows used (all, or CV_MAX_ROWS of them)
    pred: Any  # ndarray of shape (n_rows,)
    proba: Any  # ndarray of shape (n_rows, n_classes) in ``classes`` order, or None
    folds: int


def cross_validate(estimator: Any, X: Any, y: Any, classes: Sequence[Any] | None) -> OutOfFold:
    """Out-of-fold predictions of clones of ``estimator`` on ``X``, as ``cross_val_predict`` makes them.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned, never refitted itself.
    X : DataFrame or ndarray of shape (n_rows, n_features)
        As the estimator takes it.
    y : ndarray of shape (n_rows,)
        The target, in the estimator's label type.
    classes : sequence, optional
        A classifier's classes (``classes_``), the order of ``proba``'s columns; None for a regressor.

    Returns
    -------
    out : OutOfFold

    Raises
    ------
    NotCrossValidated
        The estimator cannot be cloned, a fold fails, or the data are too few to split.
    """
    import warnings

    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.model_selection import cross_validate as sk_cross_validate

    from fuseboard.ops.predicting import predict_both

    n = len(y)
    rows = np.arange(n) if n <= CV_MAX_ROWS else np.sort(
        np.random.default_rng(SEED).choice(n, CV_MAX_ROWS, replace=False))
    Xs = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
    ys = np.asarray(y)[rows]
    if classes is not None:
        _, counts = np.unique(ys, return_counts=True)
        folds = int(min(CV_FOLDS, counts.min()))
        if folds < 2:
            raise NotCrossValidated(f"a class has only {int(counts.min())} row in the reference")
        cv: Any = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    else:
        folds = min(CV_FOLDS, len(ys) // 2)
        if folds < 2:
            raise NotCrossValidated(f"{len(ys)} rows are too few to cross-validate")
        cv = KFold(folds, shuffle=True, random_state=SEED)
    try:
        model = clone(estimator)
    except Exception as exc:  # noqa: BLE001  (clone raises TypeError, RuntimeError, ...)
        raise NotCrossValidated(f"the estimator cannot be cloned ({_first_line(exc)})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = sk_cross_validate(model, Xs, ys, cv=cv, scoring=_no_score, return_estimator=True,
                                       return_indices=True, error_score="raise")
            tests, preds, proba = [], [], None
            for fold, test in zip(fitted["estimator"], fitted["indices"]["test"]):
                part = Xs.iloc[test] if hasattr(Xs, "iloc") else Xs[test]
                tests.append(test)
                fold_pred, fold_proba = predict_both(fold, part)  # a pipeline's transforms once for both
                preds.append(np.asarray(fold_pred))
                if classes is not None and fold_proba is not None:
                    if proba is None:
                        proba = np.zeros((len(ys), len(classes)))
                    columns = [list(classes).index(c) for c in fold.classes_]  # a fold may miss a class
                    proba[np.ix_(test, columns)] = fold_proba
            joined = np.concatenate(preds)
            pred = np.empty_like(joined)
            pred[np.concatenate(tests)] = joined
    except Exception as exc:  # noqa: BLE001  (a user's estimator can fail in any way)
        raise NotCrossValidated(f"fitting a fold failed: {_first_line(exc)}") from None
    return OutOfFold(rows, pred, proba, folds)


def _no_score(estimator: Any, X: Any, y: Any) -> float:
    """cross_validate's scorer: nothing measured there (the metrics come from the predictions)."""
    return 0.0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


# -- measuring ------------------------------------------------------------------------------------

def targets(task: str, estimator: Any, y: "pd.Series", path: Path) -> "np.ndarray":
    """The target column checked, as the estimator's labels.

    Parameters
    ----------
    task : {"classification", "regression"}
    estimator : fitted scikit-learn estimator
    y : Series of shape (n_rows,)
        The target column as read from ``path``.
    path : Path
        The file, for the error line.

    Returns
    -------
    y : ndarray of shape (n_rows,)
        Floats for a regressor; a classifier's labels in the dtype of its ``classes_`` (CSV numbers
        like ``1`` match a class ``"1"``, and ``"1"`` or ``1.0`` match ``1``).

    Raises
    ------
    FuseboardError
        Empty cells, text for a regressor, labels the classifier never learned.
    """
    import numpy as np
    import pandas as pd

    missing = y.isna().to_numpy()
    if missing.any():
        raise FuseboardError(f"target column {y.name!r} is empty on {int(missing.sum())} row(s), first at line "
                             f"{int(missing.nonzero()[0][0]) + 2} ({path})")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise FuseboardError(f"target column {y.name!r} must be numeric for a regression model ({path})")
        return y.to_numpy(dtype="float64")
    classes = list(getattr(estimator, "classes_", []))
    if not classes:
        raise FuseboardError(f"classifier has no classes_; was it fitted? ({path})")
    labels = np.asarray(classes)
    if labels.dtype.kind in "OUS":  # string classes: CSV numbers like 1 must match "1"
        known = y.astype(str).isin(list(classes))
        y = y.astype(str)
    else:  # numeric classes: "1" or 1.0 in the file match 1
        numbers = pd.to_numeric(y, errors="coerce")
        known = numbers.isin(list(classes))
        y = numbers.where(known, y)
    unknown = y[~known]
    if len(unknown):
        raise FuseboardError(
            f"target column {y.name!r} holds labels the model never learned: "
            f"{sorted({str(v) for v in unknown.unique()})[:3]} (first at line {int(unknown.index[0]) + 2}; "
            f"the model knows {[str(c) for c in classes[:5]]}) ({path})"
        )
    return y.to_numpy().astype(labels.dtype) if labels.dtype.kind in "biuf" else y.to_numpy()


def measure(task: str, estimator: Any, y: Any, pred: Any, proba: Any) -> dict[str, float]:
    """The task's metrics (monitoring/metrics.py) of predictions against ``targets``' labels.

    Parameters
    ----------
    task : {"classification", "regression"}
    estimator : fitted scikit-learn estimator
        Its ``classes_`` order ``proba``'s columns.
    y, pred : array-like of shape (n_rows,)
    proba : ndarray of shape (n_rows, n_classes), or None

    Returns
    -------
    metrics : dict of str to float
    """
    if task == "regression":
        return metrics_mod.regression_metrics(y, pred)
    return metrics_mod.classification_metrics(y, pred, proba, list(estimator.classes_))


def on_reference(task: str, estimator: Any, X: Any, y: Any, pred: Any, proba: Any = None
                 ) -> tuple[dict[str, float], Baseline]:
    """The baseline without a validation file: cross-validated, or in-sample when that cannot run.

    Parameters
    ----------
    task : {"classification", "regression"}
    estimator : fitted scikit-learn estimator
    X : DataFrame or ndarray of shape (n_rows, n_features)
        The reference's features, as the estimator takes them.
    y : ndarray of shape (n_rows,)
        ``targets`` of the reference.
    pred, proba : the artifact's own predictions on the reference (``proba`` may be None)
        Measured only when cross-validation cannot run. ``pred`` may instead be a callable that returns
        both (registry.py: the predictions still running on its pool), called only then.

    Returns
    -------
    metrics : dict of str to float
    baseline : Baseline
        ``cross-validated`` (folds, rows), or ``in-sample`` with the reason in ``note``.
    """
    classes = list(estimator.classes_) if task == "classification" else None
    try:
        found = cross_validate(estimator, X, y, classes)
    except NotCrossValidated as exc:
        if callable(pred):
            pred, proba = pred()
        return measure(task, estimator, y, pred, proba), Baseline("in-sample", len(y), note=str(exc))
    return (measure(task, estimator, y[found.rows], found.pred, found.proba),
            Baseline("cross-validated", len(found.rows), found.folds))
