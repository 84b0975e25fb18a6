"""Model performance from labelled windows: pure functions over mergeable counts.

When true labels arrive for served predictions, they are folded into a
performance profile that holds only counts and sums, so windows merge
exactly and a check never rereads rows:

* classification: the confusion matrix (true class x predicted class, in the
  model's class order) and, when scores were logged, histograms of the score
  on ``SCORE_BINS`` equal bins of [0, 1], split by whether the row's true class
  is the one scored (binary: the positive class, ``classes[1]``);
* regression: the count and the sums of error, squared error, absolute error,
  error to the fourth power (what an interval on RMSE needs; absent from windows folded before it was
  kept), target and squared target.

From those come the metrics users know, defined as scikit-learn defines them
(binary scores for ``classes[1]``, macro averages beyond two classes, one-vs-rest
ROC AUC weighted by support). ROC AUC from binned scores counts pairs in the same
bin as ties, which keeps it within a few thousandths of the exact value.

Their confidence intervals are in intervals.py; the verdict against the baseline in tolerance.py.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence

from fuseboard.monitoring.shapes import (ClassificationPerformance, NoLabels, PerformanceProfile,
                                         RegressionPerformance)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

SCORE_BINS = 200
MIN_SAMPLES = 200  # labelled rows for a verdict on the metric itself (below: on its interval, intervals.py)


# -- folding -------------------------------------------------------------------------------

def _score_histogram(scores: Any, mask: Any) -> list[int]:
    import numpy as np

    s = np.clip(np.asarray(scores, dtype="float64")[mask], 0.0, 1.0)
    s = s[np.isfinite(s)]
    idx = np.minimum((s * SCORE_BINS).astype(int), SCORE_BINS - 1)
    return np.bincount(idx, minlength=SCORE_BINS).tolist()


def fold_classification(labels: Any, predictions: Any, classes: Sequence[Any], scores: Any = None
                        ) -> ClassificationPerformance:
    """Fold labelled rows of a classifier.

    ``scores``: for two classes, the probability of ``classes[1]`` per row; for more,
    an (n, k) array of per-class probabilities in class order; or None.
    Labels outside ``classes`` are counted in ``unknown_labels`` and left out.

    Parameters
    ----------
    labels, predictions : array-like of shape (n_rows,)
        The true and the predicted classes, compared with ``classes`` as text.
    classes : sequence, n_classes entries
        The model's classes in its order.
    scores : array-like of shape (n_rows,) or (n_rows, n_classes), float, optional
        Probabilities in [0, 1] (clipped there; NaN is not counted).

    Returns
    -------
    profile : ClassificationPerformance
        Rows whose label or prediction is not a class are left out of the confusion matrix.
    """
    import numpy as np

    keys = [str(c) for c in classes]
    index = {c: i for i, c in enumerate(keys)}
    y = np.array([index.get(str(v), -2) for v in np.asarray(labels, dtype=object)], dtype=np.int64)
    p = np.array([index.get(str(v), -2) for v in np.asarray(predictions, dtype=object)], dtype=np.int64)
    return fold_classification_codes(y, p, keys, scores)


def fold_classification_codes(y: np.ndarray, p: np.ndarray, classes: Sequence[str], scores: Any = None
                              ) -> ClassificationPerformance:
    """``fold_classification`` over class indices (negative: not one of ``classes``).

    Parameters
    ----------
    y, p : ndarray of shape (n_rows,), int64
        Index in ``classes`` of each row's label and prediction; negative for another value.
    classes : sequence of str, n_classes entries
    scores : array-like of shape (n_rows,) or (n_rows, n_classes), float, optional
        As ``fold_classification`` takes them.

    Returns
    -------
    profile : ClassificationPerformance
    """
    import numpy as np

    k = len(classes)
    keys = [str(c) for c in classes]
    known = (y >= 0) & (p >= 0)
    confusion = np.bincount(y[known] * k + p[known], minlength=k * k).reshape(k, k)
    out: dict[str, Any] = {"task": "classification", "classes": keys, "labelled": int(known.sum()),
                           "unknown_labels": int((y < 0).sum()), "confusion": confusion.tolist()}
    if scores is not None:
        s = np.asarray(scores, dtype="float64")
        if k == 2:
            s = s.reshape(-1)
            out["scores"] = {keys[1]: {"pos": _score_histogram(s, known & (y == 1)),
                                       "neg": _score_histogram(s, known & (y == 0))}}
        else:
            out["scores"] = {keys[c]: {"pos": _score_histogram(s[:, c], known & (y == c)),
                                       "neg": _score_histogram(s[:, c], known & (y != c))} for c in range(k)}
    return out


def fold_classification_windows(y: np.ndarray, p: np.ndarray, classes: Sequence[str], scores: np.ndarray | None,
                                windows_idx: Sequence[slice | np.ndarray]
                                ) -> list[ClassificationPerformance | NoLabels]:
    """``fold_classification_codes`` of the labelled rows (``y != -1``) of each window of a batch;
    ``{}`` for a window without labels.

    The per-row keys (confusion cell, score bin) are computed once for the whole batch and each
    window is one count of its keys, instead of masking and binning the window again and again.

    Parameters
    ----------
    y, p : ndarray of shape (n_rows,), int64
        Class indices of the batch's labels and predictions: -1 for a row without a label, other
        negatives for a value that is not one of ``classes``.
    classes : sequence of str, n_classes entries
    scores : ndarray of shape (n_rows,) or (n_rows, n_classes), float64, or None
    windows_idx : sequence of slice or ndarray of intp, n_windows entries
        The rows of each window, as ``y[idx]`` selects them.

    Returns
    -------
    profiles : list of ClassificationPerformance or ``{}``, n_windows entries
    """
    import numpy as np

    k = len(classes)
    if k != 2 or (scores is not None and np.ndim(scores) != 1):  # several score columns: window by window
        out = []
        for idx in windows_idx:
            yw, pw = y[idx], p[idx]
            has = yw != -1
            out.append(fold_classification_codes(yw[has], pw[has], classes, None if scores is None else
                                                 scores[idx][has]) if has.any() else {})
        return out
    keys = [str(c) for c in classes]
    if _clean(y, p, scores):
        return _fold_clean_binary(y, p, scores, windows_idx, keys)
    out = []
    for idx in windows_idx:  # window by window: each pass stays in the processor's cache
        yw, pw = y[idx], p[idx]
        # one key per row: 0-3 a confusion cell, 4 a label of an unknown class, 5 a known label with a
        # prediction of an unknown class (counted nowhere, as in fold_classification_codes), 6 no label
        known = (yw >= 0) & (pw >= 0)
        cell = yw * 2 + pw
        cell[~known] = 4 + (yw[~known] >= 0)
        cell[yw == -1] = 6
        counts = np.bincount(cell, minlength=7)
        if counts[:6].sum() == 0:
            out.append({})
            continue
        window: dict[str, Any] = {"task": "classification", "classes": keys, "labelled": int(counts[:4].sum()),
                                  "unknown_labels": int(counts[4]),
                                  "confusion": counts[:4].reshape(2, 2).tolist()}
        if scores is not None:
            s = np.clip(np.asarray(scores[idx], dtype="float64"), 0.0, 1.0)
            counted = known & np.isfinite(s)
            if not counted.all():
                s, yw = s[counted], yw[counted]
            s *= SCORE_BINS
            key = s.astype(np.int64)
            np.minimum(key, SCORE_BINS - 1, out=key)
            key += yw * SCORE_BINS  # 0..SCORE_BINS-1 negatives, then positives
            bins = np.bincount(key, minlength=2 * SCORE_BINS)
            window["scores"] = {keys[1]: {"pos": bins[SCORE_BINS:].tolist(), "neg": bins[:SCORE_BINS].tolist()}}
        out.append(window)
    return out


def _clean(y: Any, p: Any, scores: Any) -> bool:
    """Every row labelled with a known class, predicted as one, and scored within [0, 1] (NaN is not)."""
    if not y.size or y.min() < 0 or p.min() < 0:
        return False
    return scores is None or bool(scores.min() >= 0.0 and scores.max() <= 1.0)


def _fold_clean_binary(y: Any, p: Any, scores: Any, windows_idx: Sequence[Any], keys: list[str]
                       ) -> list[dict[str, Any]]:
    """``fold_classification_windows`` of a batch that is all ``_clean``: the same counts, without
    the masks that unlabelled rows, unknown classes and stray scores need, in buffers reused from
    window to window (fresh temporaries of this size cost a page fault every 4 KB)."""
    import numpy as np

    largest = max((len(range(*idx.indices(y.size))) if isinstance(idx, slice) else len(idx)
                    for idx in windows_idx), default=0)
    key, other, scaled = np.empty(largest, np.int64), np.empty(largest, np.int64), np.empty(largest, np.float64)
    out: list[dict[str, Any]] = []
    for idx in windows_idx:
        yw, pw = np.asarray(y[idx], dtype=np.int64), np.asarray(p[idx], dtype=np.int64)
        n = int(yw.size)
        if not n:
            out.append({})
            continue
        k, o = key[:n], other[:n]
        np.bitwise_and(yw, pw, out=k)  # classes are 0 and 1: three counts make the confusion matrix
        both, positives, predicted = (int(np.count_nonzero(v)) for v in (k, yw, pw))
        confusion = [[n - positives - predicted + both, predicted - both], [positives - both, both]]
        window: dict[str, Any] = {"task": "classification", "classes": keys, "labelled": n, "unknown_labels": 0,
                                  "confusion": confusion}
        if scores is not None:
            f = scaled[:n]
            np.multiply(scores[idx], SCORE_BINS, out=f)
            np.copyto(k, f, casting="unsafe")  # truncation: the score's bin
            np.minimum(k, SCORE_BINS - 1, out=k)  # a score of exactly 1 in the last bin
            np.multiply(yw, SCORE_BINS, out=o)  # then the positives' bins after the negatives'
            np.add(k, o, out=k)
            bins = np.bincount(k, minlength=2 * SCORE_BINS)
            window["scores"] = {keys[1]: {"pos": bins[SCORE_BINS:].tolist(), "neg": bins[:SCORE_BINS].tolist()}}
        out.append(window)
    return out


def fold_regression(labels: Any, predictions: Any) -> RegressionPerformance:
    """Fold labelled rows of a regressor into sums.

    Parameters
    ----------
    labels, predictions : array-like of shape (n_rows,), float
        Rows where either is not finite are counted in ``unknown_labels`` and left out.

    Returns
    -------
    profile : RegressionPerformance
    """
    import numpy as np

    y = np.asarray(labels, dtype="float64")
    pred = np.asarray(predictions, dtype="float64")
    ok = np.isfinite(y) & np.isfinite(pred)
    y, err = y[ok], pred[ok] - y[ok]
    sq = err * err
    return {"task": "regression", "labelled": int(ok.sum()), "unknown_labels": int((~ok).sum()),
            "sum_err": float(err.sum()), "sum_sq_err": float(sq.sum()), "sum_abs_err": float(np.abs(err).sum()),
            "sum_err4": float((sq * sq).sum()), "sum_y": float(y.sum()), "sum_y2": float((y * y).sum())}


def merge(a: PerformanceProfile, b: PerformanceProfile) -> PerformanceProfile:
    """The performance profile of both windows' labelled rows.

    Parameters
    ----------
    a, b : ClassificationPerformance or RegressionPerformance
        Of one task (and, for classifiers, the same classes).

    Returns
    -------
    profile : ClassificationPerformance or RegressionPerformance
        Counts and sums added; score histograms (and ``sum_err4``) kept only when both have them.

    Raises
    ------
    ValueError
        Profiles of different tasks or classes.
    """
    if a["task"] != b["task"]:
        raise ValueError("cannot merge classification and regression profiles")
    out: dict[str, Any] = {"task": a["task"], "labelled": a["labelled"] + b["labelled"],
           "unknown_labels": a["unknown_labels"] + b["unknown_labels"]}
    if a["task"] == "regression":
        for key in ("sum_err", "sum_sq_err", "sum_abs_err", "sum_y", "sum_y2"):
            out[key] = a[key] + b[key]
        if "sum_err4" in a and "sum_err4" in b:  # a window folded before it was kept has none
            out["sum_err4"] = a["sum_err4"] + b["sum_err4"]
        return out
    if a["classes"] != b["classes"]:
        raise ValueError("cannot merge profiles of different classes")
    out["classes"] = a["classes"]
    out["confusion"] = [[x + y for x, y in zip(ra, rb)] for ra, rb in zip(a["confusion"], b["confusion"])]
    if "scores" in a and "scores" in b:
        out["scores"] = {c: {side: [x + y for x, y in zip(a["scores"][c][side], b["scores"][c][side])]
                             for side in ("pos", "neg")} for c in a["scores"]}
    return out


def series(windows: Sequence[tuple[datetime, PerformanceProfile | NoLabels]], bucket_seconds: int
           ) -> list[tuple[datetime, int, dict[str, float]]]:
    """Performance over time: ``(bucket start, labelled rows, metrics)`` per bucket, oldest first.

    ``windows`` are ``(window start, performance profile)`` pairs (datetimes, any order); each
    bucket merges the profiles of the windows that start in it, so its metrics are exact for
    its labelled rows. Buckets without labelled rows are left out.

    Parameters
    ----------
    windows : sequence of (datetime, profile) pairs
        Aware datetimes; a profile may be ``{}`` (no labels).
    bucket_seconds : int
        The buckets' length; they start at multiples of it since the epoch.

    Returns
    -------
    points : list of (datetime, int, dict of str to float)
        The bucket's start, its labelled rows, and ``metrics`` of its merged profile.
    """
    from datetime import timedelta

    buckets: dict[datetime, PerformanceProfile] = {}
    for start, profile in windows:
        if not profile or not profile.get("labelled"):
            continue
        epoch = int(start.timestamp())
        key = start - timedelta(seconds=epoch % bucket_seconds, microseconds=start.microsecond)
        buckets[key] = merge(buckets[key], profile) if key in buckets else profile
    return [(key, p["labelled"], metrics(p)) for key, p in sorted(buckets.items())]


def primary_metric(task: str, available: Sequence[str] = ()) -> str:
    """The one metric a chart shows: ROC AUC (accuracy without scores), or RMSE for regression.

    Parameters
    ----------
    task : {"classification", "regression"}
    available : sequence of str, optional
        The metrics there are (empty: assume all).

    Returns
    -------
    metric : {"roc_auc", "accuracy", "rmse"}
    """
    if task == "regression":
        return "rmse"
    return "roc_auc" if "roc_auc" in available or not available else "accuracy"


# -- metrics -------------------------------------------------------------------------------

def binned_auc(pos: Sequence[int], neg: Sequence[int]) -> float | None:
    """P(score of a positive > score of a negative), pairs in one bin counting half.

    Parameters
    ----------
    pos, neg : sequence of int, shape (n_bins,)
        Score histograms of the positives and the negatives on the same increasing bins.

    Returns
    -------
    auc : float or None
        In [0, 1]; None without a positive or without a negative.
    """
    n_pos, n_neg = sum(pos), sum(neg)
    if not n_pos or not n_neg:
        return None
    below = 0
    wins = 0.0
    for p_i, n_i in zip(pos, neg):
        wins += p_i * (below + 0.5 * n_i)
        below += n_i
    return wins / (n_pos * n_neg)


def _safe(num: float, den: float) -> float:
    return num / den if den else 0.0


def metrics(profile: PerformanceProfile) -> dict[str, float]:
    """The task's metrics from a performance profile (empty when nothing is labelled).

    Parameters
    ----------
    profile : ClassificationPerformance or RegressionPerformance

    Returns
    -------
    metrics : dict of str to float
        Regression: rmse, mae, r2 (0.0 for constant labels). Classification: accuracy,
        precision, recall and f1 (of ``classes[1]`` for two classes, else macro averages), and
        roc_auc when scores were logged and every class scored has positives and negatives.
    """
    n = profile["labelled"]
    if not n:
        return {}
    if profile["task"] == "regression":
        mse = profile["sum_sq_err"] / n
        sst = profile["sum_y2"] - profile["sum_y"] ** 2 / n
        return {"rmse": math.sqrt(mse), "mae": profile["sum_abs_err"] / n,
                "r2": 1.0 - profile["sum_sq_err"] / sst if sst > 0 else 0.0}
    cm = profile["confusion"]
    k = len(cm)
    tp = [cm[i][i] for i in range(k)]
    predicted = [sum(cm[r][c] for r in range(k)) for c in range(k)]
    actual = [sum(cm[r]) for r in range(k)]
    precision = [_safe(tp[i], predicted[i]) for i in range(k)]
    recall = [_safe(tp[i], actual[i]) for i in range(k)]
    f1 = [_safe(2 * p * r, p + r) for p, r in zip(precision, recall)]
    out = {"accuracy": sum(tp) / n}
    if k == 2:
        out.update(precision=precision[1], recall=recall[1], f1=f1[1])
    else:
        out.update(precision=sum(precision) / k, recall=sum(recall) / k, f1=sum(f1) / k)
    scores = profile.get("scores")
    if scores:
        if k == 2:
            auc = binned_auc(**next(iter(scores.values())))
        else:
            per_class = [(binned_auc(**scores[c]), actual[i]) for i, c in enumerate(profile["classes"])]
            auc = None if any(a is None for a, _ in per_class) else sum(a * w for a, w in per_class) / n
        if auc is not None:
            out["roc_auc"] = auc
    return out
