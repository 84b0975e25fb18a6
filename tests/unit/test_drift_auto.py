"""``auto``: the method chosen per feature and window, its rules measured, and the no-shift controls.

Pure: profiles built in memory from seeded rows, no database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from fuseboard.monitoring import drift
from fuseboard.monitoring.drift_verdict import evaluate_drift
from fuseboard.monitoring.profiles import build_profile, categorical_profile, feature_schema, numeric_profile
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.shapes import ReferenceProfile, WindowColumns
from fuseboard.monitoring.windows import fold_categorical, fold_numeric
from tests.support.mixed import SHIFTED, mixed_frame, shifted

AUTO = Policy(default_method="auto")


def _fold(frame: pd.DataFrame, reference: ReferenceProfile) -> WindowColumns:
    out: WindowColumns = {}
    for name, profile in reference["features"].items():
        values = frame[name]
        out[name] = (fold_numeric(values.to_numpy(dtype=float), profile) if profile["kind"] == "numeric"
                     else fold_categorical(values.to_numpy(dtype=object), profile))
    return out


REF = mixed_frame(20_000, seed=0)
REFERENCE = build_profile(REF, feature_schema(REF))


def test_the_rules_by_kind_and_window_size() -> None:
    numbers = numeric_profile(pd.Series(np.random.default_rng(1).normal(0, 1, 5_000)))
    flag = categorical_profile(pd.Series(["y", "n"] * 2_500))
    plan = categorical_profile(pd.Series(["a", "b", "c"] * 2_000))
    many = categorical_profile(pd.Series([f"v{i}" for i in range(200)] * 100))

    def chosen(profile: dict, values: np.ndarray) -> str:
        window = fold_numeric(values, profile) if profile["kind"] == "numeric" else fold_categorical(values, profile)
        return drift.choose(profile, window)

    assert chosen(numbers, np.zeros(1_000)) == "ks" and chosen(numbers, np.zeros(1_001)) == "wasserstein"
    assert chosen(flag, np.array(["y"] * 1_000, dtype=object)) == "ztest"
    assert chosen(flag, np.array(["y"] * 999 + ["new"], dtype=object)) == "chisquare"  # a third value
    assert chosen(flag, np.array(["y"] * 1_001, dtype=object)) == "jensenshannon"
    assert chosen(plan, np.array(["a"] * 1_000, dtype=object)) == "chisquare"
    assert chosen(plan, np.array(["a"] * 1_001, dtype=object)) == "jensenshannon"
    # 200 categories: Jensen-Shannon's noise alone passes half the threshold until ~33,000 values
    many_values = np.array([f"v{i}" for i in range(200)] * 10, dtype=object)
    assert chosen(many, many_values) == "chisquare"
    assert chosen(many, np.tile(many_values, 20)) == "jensenshannon"


@pytest.mark.parametrize("categories, n", [(2, 1_001), (10, 1_001), (10, 3_000), (50, 3_000), (50, 10_000)])
def test_jensen_shannon_noise_is_what_the_rule_assumes(categories: int, n: int) -> None:
    """Measured: the 99th percentile of the distance between a reference of 20,000 and 1,000
    no-shift windows of ``n`` is within 10% of ``js_noise`` (the chi-square law the rule uses)."""
    rng = np.random.default_rng(categories * 7 + n)
    p = 1 / np.arange(1, categories + 1)
    p /= p.sum()
    ref = rng.multinomial(20_000, p)
    distances = [jensenshannon(ref, rng.multinomial(n, p)) for _ in range(1_000)]
    assert np.quantile(distances, 0.99) == pytest.approx(drift.js_noise(categories, 20_000, n), rel=0.1)


def test_auto_names_the_method_it_chose() -> None:
    window = _fold(REF.sample(500, random_state=1), REFERENCE)
    result = drift.feature_drift("income", REFERENCE["features"]["income"], window["income"], "auto")
    assert (result.method, result.chosen_by) == ("ks", "auto")
    pinned = drift.feature_drift("income", REFERENCE["features"]["income"], window["income"], "psi")
    assert (pinned.method, pinned.chosen_by) == ("psi", None)


@pytest.mark.parametrize("rows", [500, 2_000])
def test_a_no_shift_window_drawn_from_the_reference_raises_no_alert(rows: int) -> None:
    result = evaluate_drift(_fold(REF.sample(rows, random_state=rows), REFERENCE), REFERENCE, "mission-critical",
                            AUTO)
    assert result.status == "ok", result.summary
    methods = {f["feature"]: f["method"] for f in result.details["features"]}
    assert all(f.get("chosen_by") == "auto" for f in result.details["features"])
    if rows == 500:
        assert methods["income"] == "ks" and methods["is_new"] == "ztest" and methods["plan"] == "chisquare"
    else:
        assert methods["income"] == "wasserstein" and methods["is_new"] == "jensenshannon"
        assert methods["plan"] == "jensenshannon" and methods["merchant"] == "chisquare"  # 30 categories, 2,000 rows


@pytest.mark.parametrize("rows", [500, 2_000])
def test_no_shift_windows_rarely_alert_because_the_tests_are_corrected_together(rows: int) -> None:
    """Over 100 seeded windows drawn from the reference: with 16 tests at 0.05 on 500 rows, about half
    the windows would alert somewhere; corrected together (Benjamini-Hochberg), about one in twenty."""
    alerts = uncorrected = 0
    for seed in range(100):
        window = _fold(REF.sample(rows, random_state=1_000 + seed), REFERENCE)
        result = evaluate_drift(window, REFERENCE, "internal", AUTO)
        alerts += result.status != "ok"
        raw = [drift.feature_drift(n, REFERENCE["features"][n], w, "auto") for n, w in window.items()]
        uncorrected += any(r.drifted for r in raw)
    assert alerts <= 10, alerts
    if rows == 500:
        assert uncorrected >= 30, uncorrected  # what the correction is for


@pytest.mark.parametrize("rows", [500, 2_000])
def test_shifted_windows_are_caught(rows: int) -> None:
    window = _fold(shifted(REF.sample(rows, random_state=7), seed=rows), REFERENCE)
    result = evaluate_drift(window, REFERENCE, "internal", AUTO)
    assert {f["feature"] for f in result.details["features"] if f["drifted"]} == SHIFTED, result.summary
    assert result.status == "warn"  # 3 of 16, none key, on an internal model
    keyed = evaluate_drift(window, REFERENCE, "mission-critical", Policy(default_method="auto", key_features=("plan",)))
    assert keyed.status == "crit" and "key feature(s) plan" in keyed.summary


def test_a_method_set_for_a_feature_still_wins_over_auto() -> None:
    window = _fold(REF.sample(500, random_state=5), REFERENCE)
    policy = Policy(default_method="auto", methods={"income": "psi", "plan": "jensenshannon"})
    by_feature = {f["feature"]: f for f in evaluate_drift(window, REFERENCE, "internal", policy).details["features"]}
    assert by_feature["income"]["method"] == "psi" and "chosen_by" not in by_feature["income"]
    assert by_feature["plan"]["method"] == "jensenshannon" and "chosen_by" not in by_feature["plan"]
    assert by_feature["age"]["method"] == "ks" and by_feature["age"]["chosen_by"] == "auto"
