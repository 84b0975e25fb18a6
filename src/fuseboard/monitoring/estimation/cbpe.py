"""Confidence-based performance estimation (CBPE): a classifier's performance without labels.

If a model's scores are calibrated (of the rows scored 0.8, 80% are positive), each row's score is
the chance its prediction is right, and the confusion matrix a window would have once labelled can be
expected from its scores alone: a row predicted class j adds its probability of being class t to cell
[t][j]. From that expected matrix come accuracy, precision, recall and F1 as ``performance.metrics``
computes them from a real one, and ROC AUC from the expected score histograms (each row adds its
probability of being positive to the positives of its score's bin, the rest to the negatives).
This is NannyML's CBPE; like it, it only holds while the relation between inputs and labels stays
as it was at registration (covariate shift, not concept shift: see README).

* ``fit``: at registration, on labelled rows (the validation set; a seeded sample of at most 100,000 of
  them, ``ops.estimators.MAX_CALIBRATION_ROWS``, and ``rows`` says how many), a map per class scored (binary: the
  positive class): isotonic regression, or Platt's sigmoid, whichever leaves the smaller calibration part
  of the Brier score (its reliability), cross-fitted over five folds so the comparison is fair, and none
  when the model's own scores are as reliable. The whole Brier score is kept beside it: it also rewards
  sharp probabilities, which CBPE's sums over a window do not need, and on 5,000 rows of a probit model
  it preferred a map that left the estimated accuracy 0.01 high where isotonic's is within 0.002.
  Beyond two classes the calibrated probabilities of a row are normalised to sum to 1.
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

__all__ = ["SCALE", "fit", "fold_windows", "probabilities", "reliability", "scored_classes"]

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


def _calibrated(x: np.ndarray, calibration: Calibration, cls: str) -> np.ndarray:
    """One class's scores through its map (as they are without one, or with ``method`` "none")."""
    import numpy as np

    found = calibration.get("maps", {}).get(cls) if calibration.get("method") != "none" else None
    return x if found is None else np.interp(x, *found)


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
    if k == 2:
        x = _calibrated(s[:, 1], calibration, classes[1])
        return np.column_stack([1.0 - x, x])
    p = s.copy()
    for j, c in enumerate(classes):
        p[:, j] = _calibrated(s[:, j], calibration, c)
    total = p.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(total > 0, p / total, 1.0 / k)
    p[~np.isfinite(s).all(axis=1)] = np.nan
    return p


FOLDS = 5  # the calibrations are compared on rows they were not fitted on, five folds
BINS = 10  # equal-count bins of the reliability


def reliability(p: np.ndarray, truth: np.ndarray) -> float:
    """The calibration part of the Brier score (Murphy's decomposition): over ``BINS`` bins of about as many
    rows each, by probability, the mean squared gap between a bin's mean probability and its share of
    positives, weighted by its rows.

    Parameters
    ----------
    p : ndarray of shape (n_rows,)
        Probabilities of the class.
    truth : ndarray of shape (n_rows,)
        1.0 where the row is of the class, else 0.0.
    """
    import numpy as np

    n = int(p.size)
    if not n:
        return 0.0
    order = np.argsort(p, kind="stable")
    return float(sum(part.size / n * (p[part].mean() - truth[part].mean()) ** 2
                     for part in np.array_split(order, min(BINS, n))))


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
        The maps of the most reliable calibration (cross-fitted), else the model's own scores
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
    folds = np.random.default_rng(SEED).permutation(n) % FOLDS
    found: dict[str, dict[str, list[float]]] = {name: {"brier": [], "reliability": []} for name in ("none", *FITS)}
    maps: dict[str, dict[str, list[list[float]]]] = {name: {} for name in FITS}
    for j, c in zip(columns, scored):
        truth = (y == j).astype("float64")
        candidates = {"none": s[:, j]}
        for name, method in FITS.items():
            crossed = np.empty(n)
            for fold in range(FOLDS):
                held = folds == fold
                crossed[held] = method(s[~held, j], truth[~held]).predict(s[held, j]) if (~held).any() and \
                    held.any() else s[held, j]
            candidates[name] = crossed
            fitted = method(s[:, j], truth)
            maps[name][c] = [fitted.X_thresholds_.tolist(), fitted.y_thresholds_.tolist()] if name == "isotonic" \
                else fitted.breakpoints()
        for name, p in candidates.items():
            found[name]["brier"].append(float(np.mean((p - truth) ** 2)))
            found[name]["reliability"].append(reliability(p, truth))
    means = {name: {key: float(np.mean(values)) for key, values in scores_of.items()} for name, scores_of in found.items()}
    # CBPE sums probabilities over a window's rows: what matters is that they are right on average where the
    # scores fall (the reliability), not how sharp each one is (the rest of the Brier score); the model's
    # own scores on a tie
    best = min(means, key=lambda name: (means[name]["reliability"], name != "none"))
    out: Calibration = {"method": best, "on": on, "rows": n,  # type: ignore[typeddict-item]
                        "brier": means["none"]["brier"], "brier_calibrated": means[best]["brier"],
                        "reliability": means["none"]["reliability"],
                        "reliability_calibrated": means[best]["reliability"],
                        "maps": maps.get(best, {}), "sampling": {}}
    scores_for_fold = s[:, 1] if k == 2 else s
    names = [str(c) for c in classes]

    def metrics_of(rows: Any) -> dict[str, float]:  # (codes as they are: no round trip through the names)
        return performance.metrics(performance.fold_classification_codes(y[rows], predicted[rows], names,
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
    scored = scored_classes(classes)
    columns = [list(classes).index(c) for c in scored]
    # expected counts in SCALE units: whole numbers kept as float64 (exact up to 2**53, a billion rows
    # a window), one contiguous row per class for bincount's weights; the last class takes the rest so
    # each row adds exactly SCALE
    if k == 2 and np.ndim(scores) == 1:  # as below, without the (n_rows, 2) arrays
        raw = np.clip(np.asarray(scores, dtype="float64"), 0.0, 1.0)[None, :]
        positive = _calibrated(raw[0], calibration, classes[1])
        units = np.empty((2, raw.shape[1]))
        np.multiply(1.0 - positive, SCALE, out=units[0])
        np.rint(units[0], out=units[0])
        np.subtract(SCALE, units[0], out=units[1])
    else:
        units = np.rint(probabilities(scores, calibration, classes).T * SCALE)
        units[-1] = SCALE - units[:-1].sum(axis=0)
        raw = np.clip(_score_matrix(scores, k)[:, columns].T, 0.0, 1.0)
    np.maximum(units, 0.0, out=units)
    predicted = np.asarray(predicted)
    valid = (predicted >= 0) & np.isfinite(units).all(axis=0)
    bins = np.minimum((np.nan_to_num(raw, nan=0.0) * performance.SCORE_BINS).astype(np.intp),
                      performance.SCORE_BINS - 1)

    def build(idx: Any, ok: Any, rows: int) -> dict:
        every = rows == ok.size  # no row left out: the window's rows as they are, no copies
        pred = predicted[idx] if every else predicted[idx][ok]

        def of(values: np.ndarray) -> np.ndarray:
            return values[idx] if every else values[idx][ok]

        confusion = [np.bincount(pred, weights=of(units[t]), minlength=k).astype(np.int64).tolist()
                     for t in range(k)]
        hist = {}
        for i, (c, j) in enumerate(zip(scored, columns)):
            b = of(bins[i])
            pos = np.bincount(b, weights=of(units[j]), minlength=performance.SCORE_BINS).astype(np.int64)
            count = np.bincount(b, minlength=performance.SCORE_BINS).astype(np.int64) * SCALE
            hist[c] = {"pos": pos.tolist(), "neg": (count - pos).tolist()}
        return {"task": "classification", "classes": list(classes), "labelled": int(rows * SCALE),
                "unknown_labels": int(ok.size - rows), "confusion": confusion, "scores": hist}

    return sampling.per_window(valid, windows_idx, build)
