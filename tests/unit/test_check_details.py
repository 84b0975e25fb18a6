"""Each check writes the details its TypedDict (monitoring/details.py) declares: no key more, none missing.

Pure: profiles built in memory, no database, no endpoint.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from fuseboard.monitoring import details, evaluate, performance
from fuseboard.monitoring.probe import ProbeResult
from fuseboard.monitoring.profiles import categorical_profile, numeric_profile
from fuseboard.monitoring.settings import Policy
from fuseboard.monitoring.windows import fold_categorical, fold_numeric
from fuseboard.status import Status

RNG = np.random.default_rng(15)
POLICY = Policy(min_rows=50, min_labelled=50)
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _fits(found: dict[str, Any], kind: type) -> None:
    required, optional = kind.__required_keys__, kind.__optional_keys__  # type: ignore[attr-defined]
    assert required <= set(found) <= required | optional, (kind.__name__, sorted(found))


def test_drift_details() -> None:
    reference = {"features": {"x": numeric_profile(pd.Series(RNG.normal(0, 1, 2000)))}}
    window = {"x": fold_numeric(RNG.normal(3, 1, 500), reference["features"]["x"])}
    result = evaluate.evaluate_drift(window, reference, "mission-critical", POLICY)
    assert result.status == Status.CRIT
    _fits(result.details, details.DriftDetails)
    for feature in result.details["features"]:
        _fits(feature, details.DriftFeature)


def test_prediction_drift_details() -> None:
    reference = {"scores": numeric_profile(pd.Series(RNG.uniform(0, 1, 2000)))}
    window = {"score": fold_numeric(RNG.uniform(0, 1, 500), reference["scores"])}
    result = evaluate.evaluate_prediction_drift(window, reference, "internal", POLICY)
    assert result.status == "ok"
    _fits(result.details, details.PredictionDriftDetails)
    assert result.details["feature"] == "score" and result.details["method"] == "psi"


def test_performance_details() -> None:
    labels = RNG.integers(0, 2, 400)
    scores = np.clip(labels * 0.6 + RNG.uniform(0, 0.4, 400), 0, 1)
    perf = performance.fold_classification(labels, (scores > 0.5).astype(int), [0, 1], scores)
    result = evaluate.evaluate_performance(perf, {"roc_auc": 0.99}, "internal", POLICY)
    _fits(result.details, details.PerformanceDetails)
    assert result.details["checks"]
    for check in result.details["checks"]:
        _fits(check, details.MetricCheckDetails)


def test_quality_details() -> None:
    numbers = pd.Series(RNG.normal(0, 1, 2000))
    words = pd.Series(RNG.choice(["a", "b"], 2000))
    reference = {"features": {"x": numeric_profile(numbers), "c": categorical_profile(words)}}
    with_nulls = RNG.normal(0, 1, 500)
    with_nulls[:100] = np.nan
    window = {"x": fold_numeric(with_nulls, reference["features"]["x"]),
              "c": fold_categorical(pd.Series(["z"] * 100 + ["a"] * 400), reference["features"]["c"])}
    result = evaluate.evaluate_quality(window, reference, "internal", POLICY)
    assert result.status == "warn"
    _fits(result.details, details.QualityDetails)
    assert {f["finding"] for f in result.details["findings"]} == {"nulls", "unseen"}
    for finding in result.details["findings"]:
        _fits(finding, details.QualityFinding)


def test_health_details_carry_the_probe_history() -> None:
    first = evaluate.evaluate_health(ProbeResult(True, 200, 12.0, "3"), 3, "internal", None, POLICY, NOW)
    _fits(first.details, details.HealthDetails)
    second = evaluate.evaluate_health(ProbeResult(False, None, None, None, "refused"), 3, "internal",
                                      first.details, POLICY, NOW)
    _fits(second.details, details.HealthDetails)
    assert len(second.details["samples"]) == 2 and second.details["consecutive_failures"] == 1


def test_staleness_and_no_verdict_store_no_details() -> None:
    assert evaluate.evaluate_staleness(date(2025, 1, 1), date(2026, 1, 1)).details == {}
    assert evaluate.evaluate_drift({}, {"features": {}}, "internal", POLICY).details == {}
    assert set(details.DETAILS_OF) == {"drift", "prediction_drift", "performance", "quality", "staleness", "health",
                                       "estimated_performance", "multivariate_drift"}


def test_the_worst_status_of_a_deployment() -> None:
    assert evaluate.worst(["ok", "none", "warn"]) == Status.WARN
    assert evaluate.worst(["none", "none"]) == Status.NONE
    assert evaluate.worst([]) == "none"
    assert evaluate.worst(["error", "crit", "ok"]) == "crit"
