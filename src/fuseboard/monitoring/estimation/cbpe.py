"""Confidence-based performance estimation (CBPE): a classifier's performance without labels.

If a model's scores are calibrated (of the rows scored 0.8, 80% are positive), each row's score is
the chance its prediction is right, and the confusion matrix a window would have once labelled can be
expected from its scores alone: a row predicted class j adds its probability of being class t to cell
[t][j]. From that expected matrix come accuracy, precision, recall and F1 as ``performance.metrics``
computes them from a real one, and ROC AUC from the expected score histograms (each row adds its
probability of being positive to the positives of its score's bin, the rest to the negatives).
This is NannyML's CBPE; like it, it only holds while the relation between inputs and labels stays
as it was at registration (covariate shift, not concept shift: see README).

* ``fit``: at registration, on labelled rows (the validation set), a map per class scored (binary: the
  positive class): isotonic regression, or Platt's sigmoid (better on a few hundred rows), whichever has
  the lower Brier score, cross-fitted so the comparison is fair, and none when the model's own scores
  score best; beyond two classes the calibrated probabilities of a row are normalised to sum to 1.
* ``fold_windows``: at ingest, per window, the expected confusion matrix and score histograms in
  millionths of a row (``SCALE``), integers, so windows merge exactly as labelled ones do
  (a ``ClassificationPerformance`` whose counts are ``SCALE`` times the expected counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from fuseboard.monitoring import performance
from fuseboard.monitoring.estimation import sampling
from fuseboard.monitoring.shapes import Calibration, ClassificationPerformance

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["SCALE", "fit", "fold_windows", "probabilities", "scored_classes"]

SCALE = 1_000_000  # an expected count is kept in millionths of a row
SEED = 0


def scored_classes(classes: Sequence[str]) -> list[str]:
    """The classes whose scores are calibrated and histogrammed: the positive one of two, else all."""
    return [classes[1]] if len(classes) == 2 else list(classes)


def _score_matrix(scores: Any, k: int) -> np.ndarray:
    """Scores as (n, k) probabilities of each class (binary: the positive class's given)."""
    import numpy as np

    s = np.asarray(scores, dtype="float64")
    if s.ndim == 1:
        return np.column_stack([1.0 - s, s])
    return s


def _isotonic(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)


GRID = 1025  # points a sigmoid map is kept at (read back by linear interpolation)


def _logit(x: np.ndarray) -> np.ndarray:
    import numpy as np

    p = np.clip(x, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p)).reshape(-1, 1)


class _Sigmoid:
    """Platt's scaling: a logistic regression on the score's logit (scikit-learn's ``sigmoid`` calibration)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=1e6).fit(_logit(x), y) if len(set(y.tolist())) == 2 else None
        self.constant = float(y.mean()) if y.size else 0.5

    def predict(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.model is None:
            return np.full(x.shape, self.constant)
        return self.model.predict_proba(_logit(x))[:, 1]

    def breakpoints(self) -> list[list[float]]:
        import numpy as np

        xs = np.linspace(0.0, 1.0, GRID)
        return [xs.tolist(), self.predict(xs).tolist()]


FITS = {"isotonic": _isotonic, "sigmoid": _Sigmoid}


def probabilities(scores: Any, calibration: Calibration, classes: Sequence[str]) -> np.ndarray:
    """Each row's probability of each class, calibrated.

    Parameters
    ----------
    scores : ndarray of shape (n_rows,) or (n_rows, n_classes)
        The model's scores: the positive class's for two classes, one per class beyond.
    calibration : Calibration
    classes : sequence of str

    Returns
    -------
    p : ndarray of shape (n_rows, n_classes), float64
        Rows sum to 1; a row with a score that is not finite is NaN.
    """
    import numpy as np

    k = len(classes)
    s = np.clip(_score_matrix(scores, k), 0.0, 1.0)
    maps = calibration.get("maps", {}) if calibration.get("method") != "none" else {}
    if k == 2:
        x = s[:, 1]
        if classes[1] in maps:
            xs, ys = maps[classes[1]]
            x = np.interp(x, xs, ys)
        return np.column_stack([1.0 - x, x])
    p = s.copy()
    for j, c in enumerate(classes):
        if c in maps:
            xs, ys = maps[c]
            p[:, j] = np.interp(s[:, j], xs, ys)
    total = p.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(total > 0, p / total, 1.0 / k)
    p[~np.isfinite(s).all(axis=1)] = np.nan
    return p


def fit(y: np.ndarray, predicted: np.ndarray, scores: Any, classes: Sequence[str], on: str) -> Calibration:
    """The calibration of a classifier's scores, from labelled rows.

    Parameters
    ----------
    y, predicted : ndarray of shape (n_rows,), int
        Each row's true and predicted class, as positions in ``classes``.
    scores : ndarray of shape (n_rows,) or (n_rows, n_classes)
        As ``probabilities`` takes them.
    classes : sequence of str
    on : {"validation", "reference"}

    Returns
    -------
    calibration : Calibration
        Isotonic maps when they lower the Brier score (cross-fitted), else the model's own scores
        (``method`` "none"); ``sampling`` from chunks of these rows.
    """
    import numpy as np

    k = len(classes)
    s = np.clip(_score_matrix(scores, k), 0.0, 1.0)
    keep = np.isfinite(s).all(axis=1) & (y >= 0)
    s, y, predicted = s[keep], y[keep], predicted[keep]
    n = int(y.size)
    scored = scored_classes(classes)
    columns = [list(classes).index(c) for c in scored]
    half = np.random.default_rng(SEED).permutation(n) < n // 2
    brier: dict[str, list[float]] = {"none": [], **{name: [] for name in FITS}}
    maps: dict[str, dict[str, list[list[float]]]] = {name: {} for name in FITS}
    for j, c in zip(columns, scored):
        truth = (y == j).astype("float64")
        brier["none"].append(float(np.mean((s[:, j] - truth) ** 2)))
        for name, method in FITS.items():
            crossed = np.empty(n)
            for fold in (half, ~half):
                if fold.all() or not fold.any():
                    crossed[fold] = s[fold, j]
                    continue
                crossed[fold] = method(s[~fold, j], truth[~fold]).predict(s[fold, j])
            brier[name].append(float(np.mean((crossed - truth) ** 2)))
            fitted = method(s[:, j], truth)
            maps[name][c] = [fitted.X_thresholds_.tolist(), fitted.y_thresholds_.tolist()] if name == "isotonic" \
                else fitted.breakpoints()
    means = {name: float(np.mean(values)) for name, values in brier.items()}
    best = min(means, key=lambda name: (means[name], name != "none"))  # the model's own scores on a tie
    out: Calibration = {"method": best, "on": on, "rows": n, "brier": means["none"],  # type: ignore[typeddict-item]
                        "brier_calibrated": means[best], "maps": maps.get(best, {}), "sampling": {}}
    scores_for_fold = s[:, 1] if k == 2 else s
    names = list(classes)

    def metrics_of(rows: Any) -> dict[str, float]:
        return performance.metrics(performance.fold_classification(
            np.asarray(names, dtype=object)[y[rows]], np.asarray(names, dtype=object)[predicted[rows]], names,
            scores_for_fold[rows]))

    out["sampling"] = sampling.spread(n, metrics_of)
    return out


def fold_windows(predicted: np.ndarray, scores: Any, calibration: Calibration, classes: Sequence[str],
                 windows_idx: Sequence[Any]) -> list[ClassificationPerformance | dict]:
    """Each window's expected confusion matrix and score histograms, in ``SCALE`` units.

    Parameters
    ----------
    predicted : ndarray of shape (n_rows,), int
        Each row's predicted class as a position in ``classes`` (negative: null or unknown).
    scores : ndarray of shape (n_rows,) or (n_rows, n_classes)
    calibration : Calibration
    classes : sequence of str
    windows_idx : sequence of slice or index array
        Each window's rows.

    Returns
    -------
    estimated : list, one per window
        A ``ClassificationPerformance`` whose counts are expected counts times ``SCALE``
        (``labelled``: their total; ``unknown_labels``: rows left out for want of a prediction or a
        finite score, in rows), or ``{}`` for a window without such rows.
    """
    import numpy as np

    k = len(classes)
    p = probabilities(scores, calibration, classes)
    units = np.rint(np.nan_to_num(p, nan=0.0) * SCALE).astype(np.int64)
    units[:, -1] = SCALE - units[:, :-1].sum(axis=1)  # each row adds exactly one row's worth
    np.maximum(units, 0, out=units)
    raw = np.clip(_score_matrix(scores, k), 0.0, 1.0)
    valid = (np.asarray(predicted) >= 0) & np.isfinite(p).all(axis=1)
    scored = scored_classes(classes)
    columns = [list(classes).index(c) for c in scored]
    bins = np.minimum((np.nan_to_num(raw[:, columns], nan=0.0) * performance.SCORE_BINS).astype(np.int64),
                      performance.SCORE_BINS - 1)
    predicted = np.asarray(predicted)

    def build(idx: Any, ok: Any, rows: int) -> dict:
        u, pred, b = units[idx][ok], predicted[idx][ok], bins[idx][ok]
        confusion = [np.bincount(pred, weights=u[:, t], minlength=k).astype(np.int64).tolist() for t in range(k)]
        hist = {}
        for i, (c, j) in enumerate(zip(scored, columns)):
            pos = np.bincount(b[:, i], weights=u[:, j], minlength=performance.SCORE_BINS).astype(np.int64)
            count = np.bincount(b[:, i], minlength=performance.SCORE_BINS).astype(np.int64) * SCALE
            hist[c] = {"pos": pos.tolist(), "neg": (count - pos).tolist()}
        return {"task": "classification", "classes": list(classes), "labelled": int(rows * SCALE),
                "unknown_labels": int(ok.size - rows), "confusion": confusion, "scores": hist}

    return sampling.per_window(valid, windows_idx, build)
