"""Validation metrics with scikit-learn, the same definitions users know."""

from __future__ import annotations

from typing import Any

# The metrics tables show for each task (the JSON output has them all).
SHOWN = {"classification": ("roc_auc", "f1", "accuracy"), "regression": ("rmse", "mae", "r2")}


def classification_metrics(y_true: Any, y_pred: Any, proba: Any | None, classes: Any) -> dict[str, float]:
    """ROC AUC, accuracy, precision, recall, F1 and log loss.

    Binary problems score the positive class (``classes[1]``); with more
    classes, precision/recall/F1 are macro averages and ROC AUC is one-vs-rest
    weighted by support. ROC AUC and log loss need ``proba``.
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


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """RMSE, MAE and R²."""
    import numpy as np
    from sklearn import metrics as m

    return {
        "rmse": float(np.sqrt(m.mean_squared_error(y_true, y_pred))),
        "mae": float(m.mean_absolute_error(y_true, y_pred)),
        "r2": float(m.r2_score(y_true, y_pred)),
    }


def format_metric(value: Any) -> str:
    """Three decimals, thousands without decimals, ``-`` when missing."""
    if not isinstance(value, (int, float)):
        return "-"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
