"""Drift statistics on histograms agree with scipy on the same data, and window profiles merge exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_js

from fuseboard.monitoring import drift
from fuseboard.monitoring.profiles import categorical_profile, numeric_profile
from fuseboard.monitoring.windows import fold_categorical, fold_numeric, merge_all, merge_feature, variance

RNG = np.random.default_rng(42)
REF = RNG.normal(50, 10, 20_000)
CASES = {
    "no drift": RNG.normal(50, 10, 8_000),
    "mean shift": RNG.normal(54, 10, 8_000),
    "wider": RNG.normal(50, 14, 8_000),
    "skewed": 35 + RNG.lognormal(2.6, 0.4, 8_000),
    "beyond the reference": RNG.normal(75, 10, 8_000),
}


def _profiles(current: np.ndarray) -> tuple[dict, dict]:
    reference = numeric_profile(pd.Series(REF))
    return reference, fold_numeric(current, reference)


@pytest.mark.parametrize("case", CASES)
def test_binned_psi_is_the_direct_computation_on_the_same_bins(case: str) -> None:
    reference, window = _profiles(CASES[case])
    current, edges = CASES[case], reference["edges"]
    # direct, on the raw rows: the reference's deciles with open ends (values beyond its range count
    # in the outer deciles), half a value added to every bin of each histogram
    open_edges = [-np.inf, *edges[1:-1], np.inf]
    q = np.histogram(current, bins=open_edges)[0] + drift.SMOOTHING
    p = np.histogram(REF, bins=open_edges)[0] + drift.SMOOTHING
    p, q = p / p.sum(), q / q.sum()
    expected = float(np.sum((q - p) * np.log(q / p)))
    result = drift.feature_drift("x", reference, window, "psi")
    assert result.score == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_a_few_rows_just_beyond_the_reference_do_not_make_psi_alarm() -> None:
    """3% of a window just above the reference's maximum, the rest like the reference: PSI stays
    quiet (an empty bin of their own, floored, used to add 0.17 and cross 0.1), while KS still sees
    the values are new."""
    rng = np.random.default_rng(7)
    ref = rng.normal(50, 10, 20_000)
    current = np.concatenate([rng.normal(50, 10, 970), ref.max() + rng.uniform(0.1, 5, 30)])
    reference = numeric_profile(pd.Series(ref))
    window = fold_numeric(current, reference)
    result = drift.feature_drift("x", reference, window, "psi")
    assert result.score < 0.05 and not result.drifted
    assert stats.ks_2samp(ref, current).pvalue > 0.01  # the exact test agrees: no real shift


@pytest.mark.parametrize("case", CASES)
def test_ks_statistic_within_0_02_of_scipy(case: str) -> None:
    reference, window = _profiles(CASES[case])
    result = drift.feature_drift("x", reference, window, "ks")
    assert result.statistic == pytest.approx(stats.ks_2samp(REF, CASES[case]).statistic, abs=0.02)


@pytest.mark.parametrize("case", ["mean shift", "wider", "skewed", "beyond the reference"])
def test_normalised_wasserstein_within_5_percent_of_scipy(case: str) -> None:
    reference, window = _profiles(CASES[case])
    result = drift.feature_drift("x", reference, window, "wasserstein")
    expected = stats.wasserstein_distance(REF, CASES[case]) / np.std(REF, ddof=1)
    assert result.score == pytest.approx(expected, rel=0.05)


def test_no_drift_scores_small_and_is_not_flagged() -> None:
    reference, window = _profiles(CASES["no drift"])
    for method in ("psi", "ks", "wasserstein", "jensenshannon"):
        assert not drift.feature_drift("x", reference, window, method).drifted, method


def test_chisquare_equals_scipys_contingency_test_on_the_same_counts() -> None:
    """The categories each sample has, an unseen one included, as scipy's 2 x k test sees them."""
    ref = pd.Series(RNG.choice(["a", "b", "c", "d"], 5_000, p=[0.4, 0.3, 0.2, 0.1]))
    cur = RNG.choice(["a", "b", "c", "d", "new"], 3_000, p=[0.35, 0.3, 0.2, 0.1, 0.05])
    reference = categorical_profile(ref)
    window = fold_categorical(cur, reference)
    result = drift.feature_drift("x", reference, window, "chisquare")
    table = [[(ref == c).sum() for c in ("a", "b", "c", "d", "new")],
             [(cur == c).sum() for c in ("a", "b", "c", "d", "new")]]  # counted on the raw rows
    scipy_stat, scipy_p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert dof == 4
    assert result.statistic == pytest.approx(scipy_stat, rel=1e-9)
    assert result.score == pytest.approx(scipy_p, rel=1e-9, abs=1e-300)
    assert result.drifted


def test_a_binary_column_has_one_degree_of_freedom() -> None:
    """A flag's rate moving from 30% to 33.5% on 1,000 rows: p = 0.022 on one degree of freedom. An
    always-present, always-empty "unseen" bucket used to add a second one: p = 0.072, drift missed."""
    ref = pd.Series(["yes"] * 3_000 + ["no"] * 7_000)
    cur = np.array(["yes"] * 335 + ["no"] * 665)
    reference = categorical_profile(ref)
    result = drift.feature_drift("flag", reference, fold_categorical(cur, reference), "chisquare")
    scipy_stat, scipy_p, dof, _ = stats.chi2_contingency([[3_000, 7_000], [335, 665]], correction=False)
    assert dof == 1 and scipy_p < 0.05 < stats.chi2.sf(scipy_stat, 2)
    assert (result.statistic, result.score) == pytest.approx((scipy_stat, scipy_p), rel=1e-9)
    assert result.drifted


def test_chisquare_on_numeric_bins_matches_scipy_on_the_bins_that_hold_values() -> None:
    ref, cur = [0, 500, 300, 200, 0], [0, 260, 140, 100, 7]  # open ends: below the range empty in both
    stat, p = drift.chisquare(ref, cur)
    scipy_stat, scipy_p, dof, _ = stats.chi2_contingency([[500, 300, 200, 0], [260, 140, 100, 7]],
                                                         correction=False)
    assert dof == 3 and (stat, p) == pytest.approx((scipy_stat, scipy_p), rel=1e-12)


def test_chisquare_of_a_window_like_its_reference_is_quiet() -> None:
    ref = pd.Series(RNG.choice(["a", "b", "c"], 20_000, p=[0.5, 0.3, 0.2]))
    reference = categorical_profile(ref)
    quiet = sum(drift.feature_drift("x", reference, fold_categorical(RNG.choice(["a", "b", "c"], 500,
                                                                                p=[0.5, 0.3, 0.2]), reference),
                                    "chisquare").drifted for _ in range(200))
    assert quiet <= 25  # a 5% test: about 10 of 200 no-shift windows, by chance (seeded)


def test_jensen_shannon_equals_scipy() -> None:
    ref, cur = [5, 3, 2, 0], [2, 3, 4, 1]
    assert drift.jensenshannon(ref, cur) == pytest.approx(scipy_js(ref, cur), rel=1e-12)


def test_seeded_data_flags_exactly_the_drifted_columns() -> None:
    rng = np.random.default_rng(7)
    n_ref, n_cur = 10_000, 5_000
    ref = pd.DataFrame({f"f{i}": rng.normal(i, 1 + i / 10, n_ref) for i in range(8)})
    ref["plan"] = rng.choice(["basic", "plus", "pro"], n_ref, p=[0.6, 0.3, 0.1])
    ref["region"] = rng.choice(["n", "s", "e", "w"], n_ref)
    cur = pd.DataFrame({f"f{i}": rng.normal(i, 1 + i / 10, n_cur) for i in range(8)})
    cur["plan"] = rng.choice(["basic", "plus", "pro"], n_cur, p=[0.6, 0.3, 0.1])
    cur["region"] = rng.choice(["n", "s", "e", "w"], n_cur)
    # the drift: a shifted mean, a wider spread, a changed category mix
    cur["f2"] = rng.normal(2 + 0.8, 1.2, n_cur)
    cur["f5"] = rng.normal(5, 1.5 * 2.2, n_cur)
    cur["plan"] = rng.choice(["basic", "plus", "pro"], n_cur, p=[0.3, 0.3, 0.4])
    drifted = {"f2", "f5", "plan"}
    for method in ("psi", "jensenshannon"):  # threshold methods; p-value methods flag ~5% of stable columns
        results = []
        for col in ref.columns:
            if not pd.api.types.is_numeric_dtype(ref[col]):
                reference = categorical_profile(ref[col])
                window = fold_categorical(cur[col].to_numpy(), reference)
            else:
                reference = numeric_profile(ref[col])
                window = fold_numeric(cur[col].to_numpy(), reference)
            results.append(drift.feature_drift(col, reference, window, method))
        assert {r.feature for r in results if r.drifted} == drifted, method
    assert not drift.dataset_drift(results)  # 3 of 10 is below the default share of 0.5
    assert drift.dataset_drift(results, share=0.3)


def test_psi_severity_follows_the_thresholds() -> None:
    reference, window = _profiles(CASES["beyond the reference"])
    result = drift.feature_drift("x", reference, window, "psi")
    assert result.drifted and result.severity == "crit" and result.score >= 0.25
    mild = drift.feature_drift("x", reference, window, "psi", threshold=0.1, critical=100)
    assert mild.severity == "warn"


def test_methods_that_need_numbers_refuse_categories() -> None:
    reference = categorical_profile(pd.Series(["a", "b"]))
    window = fold_categorical(np.array(["a"]), reference)
    with pytest.raises(ValueError, match="ks needs a numeric feature"):
        drift.feature_drift("plan", reference, window, "ks")
    with pytest.raises(ValueError, match="unknown drift method"):
        drift.feature_drift("plan", reference, window, "magic")


def test_merged_windows_equal_one_window_of_all_rows() -> None:
    reference = numeric_profile(pd.Series(REF))
    a, b = CASES["mean shift"][:3000], np.append(CASES["skewed"][:5000], [np.nan, np.inf])
    merged = merge_feature(fold_numeric(a, reference), fold_numeric(b, reference))
    whole = fold_numeric(np.concatenate([a, b]), reference)
    thirds = merge_all([fold_numeric(part, reference) for part in np.array_split(np.concatenate([a, b]), 3)])
    assert thirds["counts"] == whole["counts"] and thirds["tails"] == pytest.approx(whole["tails"])
    assert thirds["mean"] == pytest.approx(whole["mean"]) and variance(thirds) == pytest.approx(variance(whole))
    assert merged["counts"] == whole["counts"] and merged["fine"] == whole["fine"]
    assert (merged["count"], merged["nulls"], merged["min"], merged["max"]) == \
        (whole["count"], whole["nulls"], whole["min"], whole["max"])
    assert merged["mean"] == pytest.approx(whole["mean"], rel=1e-12)
    assert variance(merged) == pytest.approx(np.var(np.concatenate([a, b[:-2]]), ddof=1), rel=1e-9)

    cats = categorical_profile(pd.Series(["a", "b", "c"]))
    x, y = np.array(["a", "a", "zz", None], dtype=object), np.array(["b", "zz", "yy"], dtype=object)
    merged = merge_feature(fold_categorical(x, cats), fold_categorical(y, cats))
    whole = fold_categorical(np.concatenate([x, y]), cats)
    assert merged == whole
    assert whole["value_counts"] == {"a": 2, "b": 1, "c": 0, "__unseen__": 3}
    assert whole["unseen"] == {"zz": 2, "yy": 1} and whole["nulls"] == 1


def test_window_histogram_bins_match_numpy_histogram_inside_the_range() -> None:
    reference = numeric_profile(pd.Series(REF))
    values = np.concatenate([CASES["wider"], [reference["edges"][0], reference["edges"][-1]]])
    window = fold_numeric(values, reference)
    inside = values[(values >= reference["edges"][0]) & (values <= reference["edges"][-1])]
    assert window["counts"][1:-1] == np.histogram(inside, bins=reference["edges"])[0].tolist()
    assert window["counts"][0] == int((values < reference["edges"][0]).sum())
    assert window["counts"][-1] == int((values > reference["edges"][-1]).sum())


def test_merging_saturates_sums_near_float_max_and_reads_old_overflows() -> None:
    """Means, deviations and tails that would overflow stay at float max; a statistic stored as null by
    an older version (an overflow then) reads as float max instead of breaking the merge."""
    reference = numeric_profile(pd.Series(REF))
    huge = fold_numeric(np.array([1.7e308, 1.6e308, 1.5e308]), reference)
    merged = merge_all([huge, huge, fold_numeric(np.array([1.0, 2.0]), reference)])
    assert all(np.isfinite(merged[k]) for k in ("mean", "m2")) and all(np.isfinite(merged["tails"]))
    assert merged["tails"][1] == pytest.approx(1.7976931348623157e308) and merged["count"] == 8
    legacy = {**huge, "mean": None, "m2": None, "tails": [0.0, None]}
    merged = merge_all([legacy, fold_numeric(np.array([1.0, 2.0]), reference)])
    assert merged["tails"][1] == pytest.approx(1.7976931348623157e308) and np.isfinite(merged["m2"])
    plain = merge_all([fold_numeric(np.array([1.0, 2.0]), reference), fold_numeric(np.array([4.0]), reference)])
    assert (plain["mean"], plain["m2"]) == pytest.approx((7 / 3, np.var([1.0, 2.0, 4.0]) * 3))
