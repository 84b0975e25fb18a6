"""Validation metrics with scikit-learn, the same definitions users know."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# The metrics tables show for each task (the JSON output has them all).
SHOWN = {"classification": ("roc_auc", "f1", "accuracy"), "regression": ("rmse", "mae", "r2")}


def classification_metrics(y_true: np.ndarray | Sequence[Any], y_pred: np.ndarray | Sequence[Any],
                           proba: np.ndarray | None, classes: np.ndarray | Sequence[Any]) -> dict[str, float]:
    """ROC AUC, accuracy, precision, recall, F1 and log loss.

    Binary problems score the positive class (``classes[1]``); with more
    classes, precision/recall/F1 are macro averages and ROC AUC is one-vs-rest
    weighted by support. ROC AUC and log loss need ``proba``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The true classes.
    y_pred : array-like of shape (n_samples,)
        The predicted classes.
    proba : ndarray of shape (n_samples, n_classes), float, or None
        Class probabilities in ``classes`` order (``predict_proba``).
    classes : array-like of shape (n_classes,)
        The estimator's classes (``classes_``), n_classes >= 2.

    Returns
    -------
    metrics : dict of str to float
        accuracy, precision, recall and f1 always; roc_auc and log_loss when ``proba`` is given
        and ``y_true`` holds two classes or more (multiclass roc_auc: only when it holds them all).
    """
    import numpy as np
    from sklearn import metrics as m

    y_true = np.asarray(y_true)
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = {"pos_label": classes[1]} if binary else {}
    out = {
        "accuracy": m.accuracy_score(y_true, y_pred),
        "precision": m.precision_score(y_true, y_pred, average=average, zero_division=0, **pos),
        "recall": m.recall_score(y_true, y_pred, average=average, zero_division=0, **pos),
        "f1": m.f1_score(y_true, y_pred, average=average, zero_division=0, **pos),
    }
    present = set(np.unique(y_true).tolist())
    if proba is not None and len(present) > 1:
        if binary:
            out["roc_auc"] = m.roc_auc_score(y_true == classes[1], proba[:, 1])
        elif present == set(np.asarray(classes).tolist()):
            out["roc_auc"] = m.roc_auc_score(y_true, proba, multi_class="ovr", average="weighted", labels=classes)
        out["log_loss"] = m.log_loss(y_true, proba, labels=classes)
    return {k: float(v) for k, v in out.items()}


def regression_metrics(y_true: np.ndarray | Sequence[float], y_pred: np.ndarray | Sequence[float]
                       ) -> dict[str, float]:
    """RMSE, MAE and R².

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,), float
        The true and the predicted values, finite.

    Returns
    -------
    metrics : dict of str to float
        rmse, mae and r2, as scikit-learn computes them.
    """
    import numpy as np
    from sklearn import metrics as m

    return {
        "rmse": float(np.sqrt(m.mean_squared_error(y_true, y_pred))),
        "mae": float(m.mean_absolute_error(y_true, y_pred)),
        "r2": float(m.r2_score(y_true, y_pred)),
    }


def format_metric(value: Any) -> str:
    """Three decimals, thousands without decimals, ``-`` when missing.

    Parameters
    ----------
    value : int, float or anything else
        A metric; anything but a number (None, text) counts as missing.

    Returns
    -------
    text : str
        ``0.912``, ``12,345``, or ``-``.
    """
    if not isinstance(value, (int, float)):
        return "-"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
