"""Chi-square on numbers uses the reference's deciles open at both ends, as scipy sees the raw rows binned there."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from fuseboard.monitoring import drift, profiles, windows


def _profiles(ref: np.ndarray, cur: np.ndarray):  # noqa: ANN202
    reference = profiles.numeric_profile(pd.Series(ref))
    return reference, windows.fold_numeric(cur, reference)


def test_p_value_equals_scipy_on_the_raw_rows_binned_at_the_open_deciles() -> None:
    rng = np.random.default_rng(16)
    ref, cur = rng.normal(size=5000), rng.normal(0.1, 1.1, size=800)
    reference, window = _profiles(ref, cur)
    inner = np.asarray(reference["edges"][1:-1])
    table = np.array([np.bincount(np.searchsorted(inner, x, side="right"), minlength=len(inner) + 1)
                      for x in (ref, cur)])
    expected = chi2_contingency(table, correction=False)
    verdict = drift.feature_drift("x", reference, window, "chisquare")
    assert verdict.statistic == pytest_approx(expected.statistic)
    assert verdict.score == pytest_approx(expected.pvalue)


def pytest_approx(x: float):  # noqa: ANN201
    import pytest

    return pytest.approx(x, rel=1e-9, abs=1e-300)


def test_no_shift_windows_alarm_at_the_tests_level_not_three_times_it() -> None:
    """2,000-row windows drawn from the reference's own distribution: a few rows beyond its range used
    to fill a bin the reference left empty and drift 15% of such windows; now about the 5% the level means."""
    rng = np.random.default_rng(7)
    reference = profiles.numeric_profile(pd.Series(rng.normal(size=20_000)))
    alarms = sum(drift.feature_drift("x", reference, windows.fold_numeric(rng.normal(size=2000), reference),
                                     "chisquare").drifted for _ in range(200))
    assert alarms <= 18  # 9%: binomial(200, 0.05) stays below it with probability > 0.99
