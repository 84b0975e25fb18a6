"""Small samples, honestly (issue 16): each metric's 95% interval from a window's stored counts and sums
agrees with scipy/sklearn on the raw rows, covers the truth about 95% of the time on seeded draws, and
gives a verdict only when the whole interval clears a level.

Pure and seeded: profiles folded in memory, no database.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from fuseboard.monitoring import evaluate, intervals, performance
from fuseboard.monitoring.settings import Policy

BINS = performance.SCORE_BINS


def _binary(n: int, separation: float, rng: np.random.Generator, on_bins: bool = False):  # noqa: ANN202
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + separation * (y - 0.5))))
    if on_bins:  # each score at its bin's centre: the binned AUC is the exact one
        score = (np.minimum((score * BINS).astype(int), BINS - 1) + 0.5) / BINS
    return y, (score >= 0.5).astype(int), score


def _delong_raw(y: np.ndarray, score: np.ndarray) -> float:
    """DeLong's standard error of the AUC on raw rows (midranks from scipy)."""
    pos, neg = score[y == 1], score[y == 0]
    m, n = len(pos), len(neg)
    ranks = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - stats.rankdata(pos)) / n
    v01 = 1 - (ranks[m:] - stats.rankdata(neg)) / m
    return float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))


# -- each interval against scipy / sklearn on the raw rows ----------------------------------------

def test_accuracy_is_wilsons_interval_as_scipy_computes_it() -> None:
    rng = np.random.default_rng(1)
    for n in (40, 170, 199):
        y, pred, _ = _binary(n, 1.5, rng)
        got = intervals.interval(performance.fold_classification(y, pred, [0, 1]), "accuracy")
        want = stats.binomtest(int((y == pred).sum()), n).proportion_ci(0.95, method="wilson")
        assert (got.low, got.high, got.method) == (pytest.approx(want.low, abs=1e-6),
                                                   pytest.approx(want.high, abs=1e-6), "wilson")


def test_roc_auc_interval_is_delongs_on_the_raw_rows() -> None:
    rng = np.random.default_rng(2)
    y, pred, score = _binary(170, 1.5, rng, on_bins=True)
    profile = performance.fold_classification(y, pred, [0, 1], score)
    hist = profile["scores"]["1"]
    auc, se = intervals.delong(hist["pos"], hist["neg"])
    assert auc == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)
    assert se == pytest.approx(_delong_raw(y, score), rel=1e-9)
    # and it measures the spread of sklearn's AUC over resampled rows (a bootstrap on the raw rows)
    draws = rng.integers(0, len(y), (600, len(y)))
    boot = np.std([skm.roc_auc_score(y[i], score[i]) for i in draws])
    assert se == pytest.approx(boot, rel=0.15)
    found = intervals.interval(profile, "roc_auc")
    assert found.method == "delong" and found.low < auc < found.high
    logit = np.log(auc / (1 - auc))
    assert np.log(found.high / (1 - found.high)) - logit == pytest.approx(1.959964 * se / (auc * (1 - auc)), rel=1e-6)


def test_mae_and_rmse_intervals_from_the_sums_match_the_raw_rows() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(20, 5, 150)
    pred = y + rng.standard_t(6, 150) * 2
    err = pred - y
    profile = performance.fold_regression(y, pred)
    t = stats.t.ppf(0.975, len(err) - 1)
    mae = intervals.interval(profile, "mae")
    want = stats.t.interval(0.95, len(err) - 1, loc=np.abs(err).mean(), scale=stats.sem(np.abs(err)))
    assert (mae.low, mae.high) == pytest.approx(want, rel=1e-9)
    rmse = intervals.interval(profile, "rmse")
    mse, se = np.mean(err ** 2), stats.sem(err ** 2)
    assert (rmse.low, rmse.high, rmse.method) == (pytest.approx(np.sqrt(mse * np.exp(-t * se / mse)), rel=1e-9),
                                                   pytest.approx(np.sqrt(mse * np.exp(t * se / mse)), rel=1e-9),
                                                   "t-log")
    assert rmse.low < np.sqrt(skm.mean_squared_error(y, pred)) < rmse.high
    # the fourth-power sum merges exactly, so the interval of merged windows is the whole window's
    merged = performance.merge(performance.fold_regression(y[:60], pred[:60]),
                               performance.fold_regression(y[60:], pred[60:]))
    assert merged["sum_err4"] == pytest.approx(np.sum(err ** 4), rel=1e-12)
    again = intervals.interval(merged, "rmse")
    assert (again.low, again.high) == (pytest.approx(rmse.low, rel=1e-9), pytest.approx(rmse.high, rel=1e-9))


def test_windows_folded_before_the_fourth_power_sum_bound_rmse_from_below() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(0, 1, 120)
    pred = y + rng.normal(0, 3, 120)
    new = performance.fold_regression(y, pred)
    old = {k: v for k, v in new.items() if k != "sum_err4"}
    assert "sum_err4" not in performance.merge(old, new)  # unknown for the old window's rows
    found = intervals.interval(old, "rmse")
    mae = intervals.interval(old, "mae")
    assert (found.low, found.high, found.method) == (mae.low, None, "mae-bound")
    assert found.low <= np.sqrt(np.mean((pred - y) ** 2))  # RMSE >= MAE >= its lower end


def test_precision_recall_f1_bootstrap_the_confusion_matrix_like_the_rows() -> None:
    rng = np.random.default_rng(5)
    y, pred, _ = _binary(160, 1.2, rng)
    profile = performance.fold_classification(y, pred, [0, 1])
    draws = rng.integers(0, len(y), (2000, len(y)))  # the rows resampled
    tp, fp, fn = (np.sum(a & b, axis=1) for a, b in ((y[draws], pred[draws]), (1 - y[draws], pred[draws]),
                                                     (y[draws], 1 - pred[draws])))
    raw_values = {"precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}
    for metric, score in (("f1", skm.f1_score), ("precision", skm.precision_score), ("recall", skm.recall_score)):
        assert [score(y[i], pred[i]) for i in draws[:20]] == pytest.approx(raw_values[metric][:20], abs=1e-12)
        found = intervals.interval(profile, metric)
        raw = np.quantile(raw_values[metric], [0.025, 0.975])
        assert found.method == "bootstrap"
        assert (found.low, found.high) == (pytest.approx(raw[0], abs=0.02), pytest.approx(raw[1], abs=0.02))
        assert intervals.interval(profile, metric) == found  # seeded: the same interval every time


def test_too_few_rows_or_classes_give_no_interval() -> None:
    rng = np.random.default_rng(6)
    y, pred, score = _binary(29, 1.0, rng)
    assert intervals.interval(performance.fold_classification(y, pred, [0, 1], score), "accuracy") is None
    y = np.r_[np.ones(5, int), np.zeros(100, int)]  # five positives: no AUC interval
    profile = performance.fold_classification(y, y, [0, 1], rng.random(105))
    assert intervals.interval(profile, "roc_auc") is None and intervals.interval(profile, "accuracy") is not None
    assert intervals.interval(performance.fold_regression(rng.random(50), rng.random(50)), "r2") is None


# -- coverage on seeded draws -----------------------------------------------------------------------

def test_the_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    n, draws = 170, 600
    hits = {"rmse": 0, "mae": 0, "accuracy": 0, "roc_auc": 0}
    true_rmse, true_mae = 2.0, 2.0 * np.sqrt(2 / np.pi)  # errors N(0, 2)
    big_y, _, big_score = _binary(400_000, 2.0, rng, on_bins=True)
    true_auc = skm.roc_auc_score(big_y, big_score)
    true_accuracy = np.mean(big_y == (big_score >= 0.5))
    for _ in range(draws):
        y = rng.normal(0, 1, n)
        profile = performance.fold_regression(y, y + rng.normal(0, 2.0, n))
        r, m = intervals.interval(profile, "rmse"), intervals.interval(profile, "mae")
        hits["rmse"] += r.low <= true_rmse <= r.high
        hits["mae"] += m.low <= true_mae <= m.high
        labels, pred, score = _binary(n, 2.0, rng, on_bins=True)
        window = performance.fold_classification(labels, pred, [0, 1], score)
        a, c = intervals.interval(window, "accuracy"), intervals.interval(window, "roc_auc")
        hits["accuracy"] += a.low <= true_accuracy <= a.high
        hits["roc_auc"] += c.low <= true_auc <= c.high
    coverage = {k: v / draws for k, v in hits.items()}
    assert all(0.92 <= c <= 0.98 for c in coverage.values()), coverage


# -- the verdicts below min_labelled ----------------------------------------------------------------

def test_rmse_twenty_times_the_baseline_on_170_rows_is_a_verdict() -> None:
    """Before: "170 labelled rows ...; a verdict needs 200", whatever the error."""
    rng = np.random.default_rng(8)
    y = rng.normal(100, 10, 170)
    profile = performance.fold_regression(y, y + rng.normal(0, 20.0, 170))
    result = evaluate.evaluate_performance(profile, {"rmse": 1.0}, "internal", Policy())
    assert result.status == "crit", result.summary
    found = intervals.interval(profile, "rmse")
    rmse = performance.metrics(profile)["rmse"]
    assert result.summary == (f"degraded: rmse {rmse:.3f} (n = 170, 95% interval {found.low:.3f}-{found.high:.3f}) "
                              f"vs 1.000: crit (warn +10%, crit +50%)")
    (check,) = result.details["checks"]
    assert check["interval"] == [found.low, found.high] and check["interval_method"] == "t-log"
    # a window folded before err ** 4 was kept still shows it, from the lower bound
    old = {k: v for k, v in profile.items() if k != "sum_err4"}
    assert evaluate.evaluate_performance(old, {"rmse": 1.0}, "internal", Policy()).status == "crit"
    # a classifier whose AUC collapsed on 170 rows, likewise
    labels, pred, score = _binary(170, 0.0, rng)
    window = performance.fold_classification(labels, pred, [0, 1], score)
    assert evaluate.evaluate_performance(window, {"roc_auc": 0.95}, "mission-critical", Policy()).status == "crit"


def test_a_model_at_its_baseline_on_170_rows_raises_no_false_alarm() -> None:
    rng = np.random.default_rng(9)
    statuses = []
    for _ in range(300):
        y = rng.normal(100, 10, 170)
        profile = performance.fold_regression(y, y + rng.normal(0, 1.0, 170))  # RMSE 1.0, as at validation
        statuses.append(evaluate.evaluate_performance(profile, {"rmse": 1.0}, "internal", Policy()).status)
    assert statuses.count("warn") + statuses.count("crit") <= 3, statuses  # at most 1% (2.5% one-sided at most)
    result = evaluate.evaluate_performance(profile, {"rmse": 1.0}, "internal", Policy())
    assert result.status in ("ok", "none")
    if result.status == "none":
        assert result.summary.startswith("170 labelled rows in the last 1d, too few to tell: rmse ")
        assert "undecided (warn +10%, crit +50%)" in result.summary and result.details["checks"]


def test_a_clear_interval_within_the_warn_level_is_ok_and_few_rows_no_verdict() -> None:
    rng = np.random.default_rng(10)
    labels, pred, score = _binary(190, 3.0, rng)
    window = performance.fold_classification(labels, pred, [0, 1], score)
    auc = performance.metrics(window)["roc_auc"]
    result = evaluate.evaluate_performance(window, {"roc_auc": auc}, "internal", Policy())
    assert result.status == "ok" and "(n = 190, 95% interval" in result.summary and result.summary.endswith(": ok")
    few = performance.fold_regression(rng.random(20), rng.random(20) * 50)
    result = evaluate.evaluate_performance(few, {"rmse": 0.1}, "internal", Policy())
    assert (result.status, result.summary) == ("none", "20 labelled rows in the last 1d; a verdict needs 200")
