"""Performance metrics from labelled windows agree with scikit-learn on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from fuseboard.monitoring import performance as perf

RNG = np.random.default_rng(3)


def _binary(n: int = 5_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = RNG.integers(0, 2, n)
    score = np.clip(RNG.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    return y, (score >= 0.5).astype(int), score


def test_binary_metrics_match_sklearn() -> None:
    y, pred, score = _binary()
    got = perf.metrics(perf.fold_classification(y, pred, [0, 1], score))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), abs=0.005)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)


def test_string_classes_and_multiclass_match_sklearn() -> None:
    classes = ["bronze", "gold", "silver"]
    n = 6_000
    y_idx = RNG.integers(0, 3, n)
    logits = RNG.normal(0, 1, (n, 3)) + 1.5 * np.eye(3)[y_idx]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(classes)[y_idx]
    pred = np.array(classes)[proba.argmax(axis=1)]
    got = perf.metrics(perf.fold_classification(y, pred, classes, proba))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert got["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=classes), abs=0.005)


def test_regression_metrics_match_sklearn() -> None:
    y = RNG.normal(100, 20, 3_000)
    pred = y + RNG.normal(2, 8, 3_000)
    got = perf.metrics(perf.fold_regression(y, pred))
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)), rel=1e-9)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-9)
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-9)


def test_merged_windows_give_the_metrics_of_all_rows() -> None:
    y, pred, score = _binary(4_000)
    a = perf.fold_classification(y[:1500], pred[:1500], [0, 1], score[:1500])
    b = perf.fold_classification(y[1500:], pred[1500:], [0, 1], score[1500:])
    assert perf.merge(a, b) == perf.fold_classification(y, pred, [0, 1], score)
    ry, rp = RNG.normal(size=500), RNG.normal(size=500)
    whole = perf.metrics(perf.fold_regression(ry, rp))
    merged = perf.metrics(perf.merge(perf.fold_regression(ry[:200], rp[:200]), perf.fold_regression(ry[200:], rp[200:])))
    assert merged == pytest.approx(whole, rel=1e-9)


def test_unknown_labels_are_counted_not_scored() -> None:
    profile = perf.fold_classification(np.array([0, 1, 7, 1]), np.array([0, 1, 1, 0]), [0, 1])
    assert profile["labelled"] == 3 and profile["unknown_labels"] == 1


def test_degradation_uses_the_tolerances_and_a_minimum_sample() -> None:
    """Graded since issue 16: a warn and a crit level per metric (tolerance.py); below the minimum
    sample the metric is graded on its interval, and with too few rows for one it has no grade."""
    from fuseboard.monitoring import tolerance

    levels = tolerance.resolve({}, "internal")
    auc, rmse = levels["roc_auc"], levels["rmse"]
    assert auc.grade(0.80, 0.74) == "warn" and auc.text() == "warn -0.05, crit -0.15"
    assert auc.grade(0.80, 0.76) == "ok" and auc.grade(0.80, 0.64) == "crit"
    assert rmse.grade(10.0, 11.5) == "warn" and rmse.text() == "warn +10%, crit +50%"
    assert rmse.grade(10.0, 10.9) == "ok"
    few = perf.fold_regression(RNG.normal(size=20), RNG.normal(size=20))  # too few rows for an interval
    (check,) = tolerance.assess(few, perf.metrics(few), {"rmse": 0.1}, levels, min_samples=200)
    assert check.grade == "none" and check.interval is None


def test_performance_over_time_buckets_windows_exactly() -> None:
    """The chart's series: each hour's metrics are sklearn's on that hour's rows, empty hours left out."""
    from datetime import datetime, timedelta, timezone

    y, _, _ = _binary(6_000)
    pred = y + RNG.normal(0, 1, 6_000)  # regression: errors grow hour by hour below
    start = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
    windows, hours = [], {}
    for i in range(12):  # twelve 5-minute windows per hour, hours 0 and 2 (hour 1 has no labels)
        hour = 0 if i < 6 else 2
        rows = slice(i * 500, (i + 1) * 500)
        noisy = pred[rows] * (1 + hour)
        when = start + timedelta(hours=hour, minutes=5 * (i % 6))
        windows.append((when, perf.fold_regression(y[rows], noisy)))
        hours.setdefault(hour, ([], []))
        hours[hour][0].extend(y[rows]), hours[hour][1].extend(noisy)
    windows.append((start + timedelta(hours=1), {}))  # a window without labels
    got = perf.series(list(reversed(windows)), 3600)
    assert [(when.hour, n) for when, n, _ in got] == [(10, 3000), (12, 3000)]
    for (_, _, m), (ys, ps) in zip(got, hours.values()):
        assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(ys, ps)), rel=1e-9)
    assert perf.primary_metric("regression") == "rmse"
    assert perf.primary_metric("classification", ["accuracy"]) == "accuracy"
    assert perf.primary_metric("classification", ["accuracy", "roc_auc"]) == "roc_auc"


def test_windowed_classification_fold_is_the_per_window_fold() -> None:
    """fold_classification_windows counts each window as fold_classification_codes does on its labelled rows."""
    rng = np.random.default_rng(11)
    n = 3_000
    y = rng.choice([0, 1, -1, -2], n, p=[0.4, 0.4, 0.15, 0.05])  # -1: no label yet, -2: a label of no class
    p = rng.choice([0, 1, -2], n, p=[0.45, 0.5, 0.05])
    scores = rng.random(n)
    scores[rng.random(n) < 0.02] = np.nan
    windows_idx = [slice(0, 1_000), slice(1_000, 1_001), slice(1_001, n), np.arange(0, n, 3)]
    y_unlabelled = y.copy()
    y_unlabelled[1_000] = -1
    clean_y, clean_p = rng.integers(0, 2, n), rng.integers(0, 2, n)  # every row labelled, known classes
    clean_scores = rng.random(n)
    clean_scores[:4] = [0.0, 1.0, 0.995, 0.01]  # the ends of the score bins
    cases = [(y, p, scores), (y_unlabelled, p, scores), (clean_y, clean_p, clean_scores), (clean_y, clean_p, None),
             (clean_y, clean_p, np.where(clean_scores > 0.5, 1.5, clean_scores))]  # a stray score: the full path
    for y_case, p_case, s_case in cases:
        got = perf.fold_classification_windows(y_case, p_case, ["no", "yes"], s_case, [*windows_idx, slice(5, 5)])
        for idx, window in zip([*windows_idx, slice(5, 5)], got):
            has = y_case[idx] != -1
            want = perf.fold_classification_codes(y_case[idx][has], p_case[idx][has], ["no", "yes"],
                                                  None if s_case is None else s_case[idx][has]) if has.any() else {}
            assert window == want
