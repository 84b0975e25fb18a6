"""Graded drift severity: each feature by its magnitude, the check by the share, importance and tier.

Pure: profiles built in memory from seeded rows, no database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fuseboard.monitoring import drift
from fuseboard.monitoring.drift_verdict import escalate, evaluate_drift, evaluate_prediction_drift
from fuseboard.monitoring.profiles import numeric_profile
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.windows import fold_numeric
from fuseboard.status import Status

FEATURES = [f"f{i}" for i in range(10)]


def _model(shifts: dict[str, float], n: int = 5_000, seed: int = 3) -> tuple[dict, dict]:
    """Ten standard normal features; the window shifts the named ones by that many std."""
    rng = np.random.default_rng(seed)
    reference = {"features": {f: numeric_profile(pd.Series(rng.normal(0, 1, 20_000))) for f in FEATURES}}
    window = {f: fold_numeric(rng.normal(shifts.get(f, 0.0), 1, n), reference["features"][f]) for f in FEATURES}
    return window, reference


@pytest.mark.parametrize("method", ["ks", "wasserstein", "jensenshannon", "chisquare"])
def test_a_mission_critical_model_is_critical_when_one_feature_drifts_badly_whatever_the_method(method: str) -> None:
    """The defect: with methods other than PSI, a mission-critical model was critical only on dataset
    drift or a key feature; one feature shifted by a whole standard deviation was a warning."""
    window, reference = _model({"f3": 1.0})
    result = evaluate_drift(window, reference, "mission-critical", Policy(default_method=method))
    (drifted,) = [f for f in result.details["features"] if f["drifted"]]
    assert drifted["feature"] == "f3" and drifted["severity"] == "crit"
    assert result.status == "crit" and "1 badly" in result.summary
    assert evaluate_drift(window, reference, "internal", Policy(default_method=method)).status == "warn"


@pytest.mark.parametrize("method", ["psi", "ks", "wasserstein", "jensenshannon"])
def test_a_small_drift_on_a_mission_critical_model_is_a_warning(method: str) -> None:
    window, reference = _model({"f3": 0.35}, n=20_000)
    result = evaluate_drift(window, reference, "mission-critical", Policy(default_method=method))
    assert [f["feature"] for f in result.details["features"] if f["drifted"]] == ["f3"]
    assert result.details["features"][0]["severity"] == "warn" and result.status == "warn"


def test_dataset_drift_is_critical_on_an_internal_model_too() -> None:
    window, reference = _model({f: 0.35 for f in FEATURES[:5]}, n=20_000)  # half the features, mildly
    result = evaluate_drift(window, reference, "internal", Policy(default_method="psi"))
    assert result.details["dataset_drift"] and result.status == "crit"
    assert all(f["severity"] == "warn" for f in result.details["features"] if f["drifted"])
    below = evaluate_drift(window, reference, "internal", Policy(default_method="psi", drift_share=0.6))
    assert not below.details["dataset_drift"] and below.status == "warn"


def test_key_features_by_tier() -> None:
    mild, bad = _model({"f1": 0.35}, n=20_000), _model({"f1": 1.0}, n=20_000)
    keyed = Policy(default_method="wasserstein", key_features=("f1",))
    assert evaluate_drift(*mild, "mission-critical", keyed).status == "crit"  # a key feature drifting
    assert evaluate_drift(*mild, "internal", keyed).status == "warn"
    assert evaluate_drift(*bad, "internal", keyed).status == "crit"  # a key feature drifting badly
    assert evaluate_drift(*bad, "internal", Policy(default_method="wasserstein")).status == "warn"


def test_escalate_follows_the_documented_table() -> None:
    def feature(name: str, severity: Status) -> drift.FeatureDrift:
        return drift.FeatureDrift(name, "psi", 0.3 if severity == "crit" else 0.15, 0.1, True, severity)

    warn, crit, key_warn, key_crit = (feature("a", Status.WARN), feature("b", Status.CRIT),
                                      feature("k", Status.WARN), feature("k", Status.CRIT))
    table = [  # drifted, dataset drift -> (mission-critical, internal)
        ((), False, ("ok", "ok")), ((warn,), False, ("warn", "warn")), ((crit,), False, ("crit", "warn")),
        ((key_warn,), False, ("crit", "warn")), ((key_crit,), False, ("crit", "crit")),
        ((warn,), True, ("crit", "crit"))]
    for drifted, dataset, expected in table:
        got = tuple(escalate(drifted, dataset, ("k",), tier) for tier in ("mission-critical", "internal"))
        assert got == expected, (drifted, dataset)


def test_prediction_drift_is_graded_with_the_models_method() -> None:
    rng = np.random.default_rng(4)
    reference = {"scores": numeric_profile(pd.Series(rng.beta(2, 5, 20_000)))}
    policy = Policy(default_method="ks")
    bad = {"score": fold_numeric(rng.beta(5, 2, 800), reference["scores"])}
    result = evaluate_prediction_drift(bad, reference, "mission-critical", policy)
    assert result.status == "crit" and result.details["method"] == "ks" and result.details["severity"] == "crit"
    assert result.summary.startswith("score KS p ")
    assert evaluate_prediction_drift(bad, reference, "internal", policy).status == "warn"
    slight = {"score": fold_numeric(rng.beta(2.2, 5, 20_000), reference["scores"])}
    mild = evaluate_prediction_drift(slight, reference, "mission-critical", policy)
    assert mild.details["drifted"] and mild.details["severity"] == "warn" and mild.status == "warn"


def test_benjamini_hochberg_equals_scipy() -> None:
    p = np.random.default_rng(9).uniform(0, 0.2, 25) ** 2
    assert drift.benjamini_hochberg(list(p)) == pytest.approx(list(stats.false_discovery_control(p)), rel=1e-12)
    assert drift.benjamini_hochberg([]) == []


def test_the_windows_tests_are_corrected_together_and_distances_left_alone() -> None:
    def verdict(name: str, method: str, score: float) -> drift.FeatureDrift:
        spec = drift.METHODS[method]
        drifted = score < spec.threshold if spec.lower_is_drift else score >= spec.threshold
        return drift.FeatureDrift(name, method, score, spec.threshold, drifted,
                                  Status.WARN if drifted else Status.OK, effect=0.1, critical=spec.critical)

    results = [verdict("a", "ks", 0.03), verdict("b", "chisquare", 0.5), verdict("c", "ks", 0.001),
               verdict("d", "psi", 0.12), verdict("e", "ztest", 0.9)]
    corrected = drift.correct_tests(results)
    # four tests: 0.001 * 4 = 0.004 drifts; 0.03 * 4 / 2 = 0.06 no longer does
    assert [r.drifted for r in corrected] == [False, False, True, True, False]
    assert corrected[0].adjusted == pytest.approx(0.06) and corrected[0].severity == "ok"
    assert corrected[3] == results[3] and corrected[3].adjusted is None


def test_a_default_method_that_cannot_score_a_feature_leaves_it_to_auto() -> None:
    """``--default-method ks`` on a model with categories (or ztest on numbers) used to break the whole
    check (or, for predictions, PSI was used whatever the setting): those columns get auto instead."""
    from fuseboard.monitoring.profiles import categorical_profile
    from fuseboard.monitoring.windows import fold_categorical

    rng = np.random.default_rng(6)
    window, reference = _model({}, n=500)
    reference["features"]["plan"] = categorical_profile(pd.Series(rng.choice(["a", "b", "c"], 5_000)))
    window["plan"] = fold_categorical(rng.choice(["a", "b", "c"], 500).astype(object), reference["features"]["plan"])
    ks = {f["feature"]: f for f in evaluate_drift(window, reference, "internal", Policy(default_method="ks"))
          .details["features"]}
    assert ks["f0"]["method"] == "ks" and "chosen_by" not in ks["f0"]
    assert (ks["plan"]["method"], ks["plan"]["chosen_by"]) == ("chisquare", "auto")
    z = {f["feature"]: f for f in evaluate_drift(window, reference, "internal", Policy(default_method="ztest"))
         .details["features"]}
    assert (z["f0"]["method"], z["f0"]["chosen_by"]) == ("ks", "auto") and z["plan"]["method"] == "chisquare"
    labels = {"prediction": fold_categorical(rng.choice(["0", "1"], 500).astype(object),
                                             categorical_profile(pd.Series(rng.choice(["0", "1"], 5_000))))}
    predicted = evaluate_prediction_drift(labels, {"predictions": categorical_profile(
        pd.Series(rng.choice(["0", "1"], 5_000)))}, "internal", Policy(default_method="wasserstein"))
    assert predicted.details["method"] == "ztest" and predicted.details["chosen_by"] == "auto"
