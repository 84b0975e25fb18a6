"""The Z-test, PSI's smoothing and the tests' effect sizes, against scipy on the raw rows (seeded)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats.contingency import association

from fuseboard.monitoring import drift
from fuseboard.monitoring.profiles import categorical_profile, numeric_profile
from fuseboard.monitoring.windows import fold_categorical, fold_numeric


@pytest.mark.parametrize("seed, rate_ref, rate_cur, n_cur", [(1, 0.30, 0.335, 1000), (2, 0.05, 0.05, 400),
                                                             (3, 0.5, 0.62, 150), (4, 0.9, 0.88, 5000)])
def test_ztest_is_the_2x2_chi_square_on_the_raw_rows(seed: int, rate_ref: float, rate_cur: float, n_cur: int) -> None:
    rng = np.random.default_rng(seed)
    ref = (rng.random(8_000) < rate_ref).astype(int)
    cur = (rng.random(n_cur) < rate_cur).astype(int)
    reference = categorical_profile(pd.Series(ref).astype(str))
    result = drift.feature_drift("flag", reference, fold_categorical(cur.astype(str).astype(object), reference),
                                 "ztest")
    table = [[(ref == 1).sum(), (ref == 0).sum()], [(cur == 1).sum(), (cur == 0).sum()]]  # counted on the raw rows
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert dof == 1
    assert result.statistic ** 2 == pytest.approx(chi2, rel=1e-9)
    assert result.score == pytest.approx(p, rel=1e-9, abs=1e-300)
    # by hand: the pooled two-proportion z, two-sided
    p1, p2, pooled = ref.mean(), cur.mean(), np.concatenate([ref, cur]).mean()
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / len(ref) + 1 / len(cur)))
    assert abs(result.statistic) == pytest.approx(abs(z), rel=1e-9)
    assert result.score == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9, abs=1e-300)
    assert result.drifted == (p < 0.05) and result.method == "ztest"


def test_ztest_of_the_issues_binary_column_finds_the_shift_chi_square_on_two_dof_missed() -> None:
    ref = pd.Series(["yes"] * 3_000 + ["no"] * 7_000)
    reference = categorical_profile(ref)
    result = drift.feature_drift("flag", reference, fold_categorical(np.array(["yes"] * 335 + ["no"] * 665),
                                                                     reference), "ztest")
    assert result.score == pytest.approx(0.0216, abs=5e-4) and result.drifted


def test_ztest_refuses_more_than_two_categories_and_numbers() -> None:
    three = categorical_profile(pd.Series(["a", "b", "c"] * 10))
    with pytest.raises(ValueError, match="ztest needs a categorical feature with at most 2 categories; this one has 3"):
        drift.feature_drift("plan", three, fold_categorical(np.array(["a", "b"], dtype=object), three), "ztest")
    numbers = numeric_profile(pd.Series(np.arange(100.0)))
    with pytest.raises(ValueError, match="ztest needs a categorical feature"):
        drift.feature_drift("x", numbers, fold_numeric(np.arange(50.0), numbers), "ztest")


def test_ztest_of_a_constant_column_is_quiet_until_another_value_arrives() -> None:
    reference = categorical_profile(pd.Series(["on"] * 500))
    same = drift.feature_drift("f", reference, fold_categorical(np.array(["on"] * 200, dtype=object), reference),
                               "ztest")
    assert (same.score, same.drifted) == (1.0, False)
    new = drift.feature_drift("f", reference, fold_categorical(np.array(["on"] * 150 + ["off"] * 50, dtype=object),
                                                               reference), "ztest")
    assert new.drifted and new.score < 1e-10


def test_cramers_v_is_scipys_on_a_table_of_equal_sized_samples() -> None:
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(6))
    q = rng.dirichlet(np.ones(6))
    n = 10_000
    table = np.array([rng.multinomial(n, p), rng.multinomial(n, q)])  # rows of equal size
    assert drift.cramers_v(table[0], table[1]) == pytest.approx(association(table, method="cramer"), rel=1e-9)
    # the effect size does not depend on the samples' sizes, unlike the table's own V
    assert drift.cramers_v(table[0] * 40, table[1]) == pytest.approx(drift.cramers_v(table[0], table[1]), rel=1e-9)


# a count-like column (products held, 0..9) profiled as categories: four common values and six rare
# ones at 1% each. A 150-row window misses a rare value about one time in five.
SHARES = [0.30, 0.25, 0.2, 0.19] + [0.01] * 6


def _counts(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(10, n, p=SHARES)


def test_psi_of_small_windows_missing_rare_values_is_not_a_false_alarm() -> None:
    """A fixed 1e-4 floor made a rare value a 150-row window happened to miss weigh like a vanished
    category (a value at 1% missing added 0.046): 45% of such no-shift windows crossed 0.1. Half a
    value of smoothing per bin weighs what a miss in 150 rows is worth: under 5% cross it (seeded)."""
    ref = _counts(0, 20_000)
    reference = categorical_profile(pd.Series(ref).astype(str))
    alarms = 0
    for seed in range(1, 201):
        window = fold_categorical(_counts(seed, 150).astype(str).astype(object), reference)
        alarms += drift.feature_drift("products", reference, window, "psi").drifted
    assert alarms <= 10, alarms  # 5%; 89 of 200 with the 1e-4 floor


def test_psi_of_a_window_the_exact_tests_call_unchanged_is_quiet() -> None:
    """One such window: four rare values missing. KS and chi-square on the raw rows see no shift;
    the floored PSI said 0.195 (drift), the smoothed one says 0.046."""
    ref, cur = _counts(0, 20_000), _counts(17, 150)
    assert len(set(range(10)) - set(cur)) == 4  # rare values the window missed
    assert stats.ks_2samp(ref, cur).pvalue > 0.5
    table = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref, cur]).to_numpy()
    assert stats.chi2_contingency(table, correction=False)[1] > 0.3
    reference = categorical_profile(pd.Series(ref).astype(str))
    result = drift.feature_drift("products", reference, fold_categorical(cur.astype(str).astype(object), reference),
                                 "psi")
    assert result.score < 0.05 and not result.drifted


def test_psi_smoothing_is_half_a_value_per_bin_and_ignores_bins_empty_in_both() -> None:
    ref, cur = [600, 300, 100, 0, 0], [70, 30, 0, 0, 5]  # an empty-in-both bin; one only the window has
    p = (np.array([600, 300, 100, 0]) + 0.5) / (1000 + 2)
    q = (np.array([70, 30, 0, 5]) + 0.5) / (105 + 2)
    assert drift.psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-12)
    assert drift.psi([5, 3, 2], [5, 3, 2]) == 0.0


def test_a_category_the_reference_never_had_still_weighs_in_full() -> None:
    reference = categorical_profile(pd.Series(["a"] * 6_000 + ["b"] * 4_000))
    cur = np.array(["a"] * 540 + ["b"] * 360 + ["new"] * 100, dtype=object)
    result = drift.feature_drift("x", reference, fold_categorical(cur, reference), "psi")
    assert result.drifted and result.severity == "crit"  # 10% of values never seen: 0.1 ln(2000) = 0.76


HALF_STD = {"psi": 0.25, "ks": 0.2, "wasserstein": 0.5, "jensenshannon": 0.18, "chisquare": 0.25}


@pytest.mark.parametrize("method", HALF_STD)
def test_each_method_turns_critical_near_half_a_standard_deviation(method: str) -> None:
    """The critical levels mean one thing across methods: a mean shift of 0.4 std is drift but not
    critical for any of them, one of 0.6 std critical for all (PSI's 0.25 sits at about 0.5)."""
    rng = np.random.default_rng(11)
    reference = numeric_profile(pd.Series(rng.normal(0, 1, 50_000)))
    for shift, severity in ((0.4, "warn"), (0.6, "crit")):
        window = fold_numeric(rng.normal(shift, 1, 20_000), reference)
        result = drift.feature_drift("x", reference, window, method)
        assert result.drifted and result.severity == severity, (shift, result)
        assert result.critical == HALF_STD[method]


def test_a_test_is_critical_by_its_effect_not_its_p_value() -> None:
    """On 20,000 rows a shift of 0.1 std is certain (p ~ 1e-20) but small: warn, not crit."""
    rng = np.random.default_rng(12)
    reference = numeric_profile(pd.Series(rng.normal(0, 1, 50_000)))
    result = drift.feature_drift("x", reference, fold_numeric(rng.normal(0.1, 1, 20_000), reference), "ks")
    assert result.score < 1e-10 and result.effect == pytest.approx(result.statistic)
    assert result.effect < 0.2 and result.severity == "warn"
