"""Graded performance verdicts (issue 16): a warn and a crit level per metric, defaults by tier and by
magnitude, the older one-level settings still read, and one clear line for a bad ``--tolerance``.

Pure: profiles folded in memory from seeded rows, no database.
"""

from __future__ import annotations

import numpy as np
import pytest

from fuseboard.errors import FuseboardError
from fuseboard.monitoring import evaluate, performance, settings, tolerance
from fuseboard.monitoring.settings import Policy


def _regression(rmse: float, n: int = 1_000, seed: int = 0) -> dict:
    """Labelled rows whose errors have about this RMSE."""
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, n)
    return performance.fold_regression(y, y + rng.normal(0, rmse, n))


def _classifier(separation: float, n: int = 1_000, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + separation * (y - 0.5))))
    return performance.fold_classification(y, (score >= 0.5).astype(int), [0, 1], score)


def test_an_internal_model_whose_error_tripled_is_critical() -> None:
    """Before: any breach of an internal model was "warn", a tripled RMSE like a 10% slip."""
    perf = _regression(3.0)
    result = evaluate.evaluate_performance(perf, {"rmse": 1.0}, "internal", Policy())
    assert result.status == "crit", result.summary
    assert result.summary.startswith("degraded: rmse ") and "crit (warn +10%, crit +50%)" in result.summary
    (check,) = result.details["checks"]
    assert (check["grade"], check["kind"], check["warn"], check["crit"], check["degraded"]) == (
        "crit", "rel", 0.1, 0.5, True)
    slip = evaluate.evaluate_performance(_regression(1.2), {"rmse": 1.0}, "internal", Policy())
    assert slip.status == "warn" and ": warn (warn +10%, crit +50%)" in slip.summary


def test_a_mission_critical_models_small_slip_is_a_warning() -> None:
    """Before: any breach of a mission-critical model was "crit", a 15% slip like a collapse."""
    slip = evaluate.evaluate_performance(_regression(1.15), {"rmse": 1.0}, "mission-critical", Policy())
    assert slip.status == "warn", slip.summary
    large = evaluate.evaluate_performance(_regression(1.4), {"rmse": 1.0}, "mission-critical", Policy())
    assert large.status == "crit" and "warn +10%, crit +25%" in large.summary
    fine = evaluate.evaluate_performance(_regression(1.0), {"rmse": 1.0}, "mission-critical", Policy())
    assert fine.status == "ok" and fine.summary.startswith("rmse 1.0")


def test_roc_auc_levels_and_the_worst_metric_decides() -> None:
    perf = _classifier(1.2)  # AUC about 0.66
    auc = performance.metrics(perf)["roc_auc"]
    warn = evaluate.evaluate_performance(perf, {"roc_auc": auc + 0.08}, "internal", Policy())
    assert warn.status == "warn"
    crit = evaluate.evaluate_performance(perf, {"roc_auc": auc + 0.2}, "internal", Policy())
    assert crit.status == "crit" and "warn -0.05, crit -0.15" in crit.summary
    # two metrics: one warn, one crit -> crit, both named
    both = evaluate.evaluate_performance(perf, {"roc_auc": auc + 0.08, "accuracy": 0.99}, "internal",
                                         Policy(tolerances={"accuracy": ["abs", 0.05, 0.1]}))
    assert both.status == "crit" and "roc_auc" in both.summary and "accuracy" in both.summary
    assert {c["metric"]: c["grade"] for c in both.details["checks"]} == {"roc_auc": "warn", "accuracy": "crit"}


def test_levels_set_as_typed_and_their_defaults_by_tier() -> None:
    assert tolerance.parse("rmse", "warn:10%,crit:50%") == ["rel", 0.1, 0.5]
    assert tolerance.parse("roc_auc", "warn:0.02,crit:0.05") == ["abs", 0.02, 0.05]
    assert tolerance.parse("accuracy", " crit:0.1, warn:0.03 ") == ["abs", 0.03, 0.1]
    assert tolerance.parse("mae", "warn:0.5,crit:2") == ["abs_up", 0.5, 2.0]  # an error's rise in its own units
    assert tolerance.parse("roc_auc", "abs:0.05") == ["abs", 0.05]  # the older KIND:AMOUNT
    internal, mission = tolerance.resolve({}, "internal"), tolerance.resolve({}, "mission-critical")
    assert internal["roc_auc"] == tolerance.Tolerance("abs", 0.05, 0.15)
    assert internal["rmse"] == tolerance.Tolerance("rel", 0.10, 0.50)
    assert mission["roc_auc"] == tolerance.Tolerance("abs", 0.05, 0.10)
    assert mission["rmse"] == tolerance.Tolerance("rel", 0.10, 0.25)
    set_ = tolerance.resolve({"rmse": ["rel", 0.2, 0.3], "f1": ["abs", 0.01, 0.02]}, "internal")
    assert list(set_) == ["roc_auc", "rmse", "f1"] and set_["rmse"] == tolerance.Tolerance("rel", 0.2, 0.3)


def test_older_one_level_settings_still_read() -> None:
    """``[kind, amount]`` as stored before: the warn level; crit scaled as the tier's defaults are."""
    stored = {"tolerances": {"roc_auc": ["abs", 0.02], "rmse": ["rel", 0.2]}}
    policy = settings.policy_for(stored)
    internal = tolerance.resolve(policy.tolerances, "internal")
    assert internal["roc_auc"].warn == 0.02 and internal["roc_auc"].crit == pytest.approx(0.06)
    assert internal["rmse"].warn == 0.2 and internal["rmse"].crit == pytest.approx(1.0)
    mission = tolerance.resolve(policy.tolerances, "mission-critical")
    assert mission["roc_auc"].crit == pytest.approx(0.04) and mission["rmse"].crit == pytest.approx(0.5)
    # and a check runs with them
    result = evaluate.evaluate_performance(_regression(1.3), {"rmse": 1.0}, "internal", policy)
    assert result.status == "warn"
    # validate keeps the older form as it was and stores the new one with both levels
    assert settings.validate({"tolerances": {"roc_auc": ("abs", "0.03")}}, {}) == {"tolerances": {
        "roc_auc": ["abs", 0.03]}}
    assert settings.validate({"tolerances": {"rmse": "warn:5%,crit:20%"}}, {}) == {"tolerances": {
        "rmse": ["rel", 0.05, 0.2]}}


@pytest.mark.parametrize("metric, text, needle", [
    ("roc_auc", "0.1", "is not warn:AMOUNT,crit:AMOUNT"),
    ("auc", "warn:0.1,crit:0.2", "not a metric fuseboard measures"),
    ("roc_auc", "warn:5%,crit:10%", "a percentage is for an error"),
    ("rmse", "warn:50%,crit:10%", "crit (+10%) must be at least warn (+50%)"),
    ("rmse", "warn:10%", "give both levels"),
    ("rmse", "warn:10%,crit:2", "both levels in percent or both as numbers"),
    ("rmse", "warn:10%,warn:20%", "'warn:20%'"),
    ("roc_auc", "xyz:0.1", "KIND one of abs, abs_up, rel"),
    ("roc_auc", "abs:inf", "finite"),
    ("roc_auc", "warn:-0.1,crit:0.2", "at least 0"),
    ("rmse", "warn:x%,crit:20%", "the warn level must be a number"),
    ("rmse", "warn:nan,crit:1", "finite"),
])
def test_a_bad_tolerance_is_one_line_naming_the_field(metric: str, text: str, needle: str) -> None:
    with pytest.raises(FuseboardError) as caught:
        settings.validate({"tolerances": {metric: text}}, {})
    message = str(caught.value)
    assert needle in message and message.startswith(f"tolerance {metric}: ") and "\n" not in message
    assert caught.value.field == "tolerance"


def test_interval_grades_need_the_whole_interval_past_a_level() -> None:
    tol = tolerance.Tolerance("rel", 0.1, 0.5)
    Interval = tolerance.Interval
    assert tol.grade_interval(1.0, Interval(1.6, 2.0, "t")) == "crit"
    assert tol.grade_interval(1.0, Interval(1.2, 2.0, "t")) == "warn"  # past warn for sure, maybe crit
    assert tol.grade_interval(1.0, Interval(0.9, 1.05, "t")) == "ok"
    assert tol.grade_interval(1.0, Interval(0.9, 1.2, "t")) == "none"
    assert tol.grade_interval(1.0, Interval(1.6, None, "mae-bound")) == "crit"
    assert tol.grade_interval(1.0, Interval(0.5, None, "mae-bound")) == "none"  # never cleared from below only
    drop = tolerance.Tolerance("abs", 0.05, 0.15)
    assert drop.grade_interval(0.9, Interval(0.6, 0.7, "delong")) == "crit"
    assert drop.grade_interval(0.9, Interval(0.7, 0.8, "delong")) == "warn"
    assert drop.grade_interval(0.9, Interval(0.86, 0.95, "delong")) == "ok"
    assert drop.grade_interval(0.9, Interval(0.8, 0.95, "delong")) == "none"
