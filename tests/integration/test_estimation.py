"""Before the labels arrive (issue 17): estimated performance (CBPE, DLE), multivariate drift (PCA) and
the triage verdict, on seeded scenarios, against scikit-learn on the raw rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.decomposition import PCA
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import mean_absolute_error, roc_auc_score
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.store.models import AuditEvent, ModelVersion, WindowProfile
from tests.support.estimation import by_check, seeded_binary, watch

FEATURES = ["strong", "weak", "noise"]


def _binary(ws_url: str, tmp_path: Path, criticality: str = "internal"):
    train = seeded_binary(4000, 1)
    model = LogisticRegression().fit(train[FEATURES], train["y"])
    return watch(ws_url, tmp_path, model, seeded_binary(3000, 2), seeded_binary(3000, 3), criticality=criticality), \
        model


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p)).reshape(-1, 1)


def test_cbpe_is_the_expected_confusion_of_the_calibrated_scores(ws_url: str, tmp_path: Path) -> None:
    """The stored estimate is what the chosen calibration (fitted as scikit-learn fits it on the validation
    rows: isotonic, or Platt's sigmoid on the logit) and the expected confusion matrix give on the raw rows."""
    from fuseboard.monitoring.estimation import cbpe

    watched, model = _binary(ws_url, tmp_path)
    with watched.ws.session() as s:
        calibration = s.exec(select(ModelVersion)).one().reference_profile["estimation"]["cbpe"]
    validation = seeded_binary(3000, 3)
    scores = model.predict_proba(validation[FEATURES])[:, 1]
    assert calibration["brier"] == pytest.approx(np.mean((scores - validation["y"]) ** 2))
    assert calibration["reliability"] == pytest.approx(cbpe.reliability(scores, validation["y"].to_numpy(float)))
    assert calibration["reliability_calibrated"] <= calibration["reliability"]
    rows = seeded_binary(2000, 11, spread=0.4)
    watched.ingest(rows)
    with watched.ws.session() as s:
        estimated = s.exec(select(WindowProfile)).all()
    merged = np.zeros((2, 2))
    for w in estimated:
        merged += np.array(w.estimated["confusion"]) / 1e6
    s_new = model.predict_proba(rows[FEATURES])[:, 1]
    if calibration["method"] == "isotonic":
        p = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(scores, validation["y"]).predict(s_new)
    elif calibration["method"] == "sigmoid":
        p = LogisticRegression(C=1e6).fit(_logit(scores), validation["y"]).predict_proba(_logit(s_new))[:, 1]
    else:
        p = s_new
    pred = model.predict(rows[FEATURES])
    expected = np.array([[np.sum((1 - p)[pred == 0]), np.sum((1 - p)[pred == 1])],
                         [np.sum(p[pred == 0]), np.sum(p[pred == 1])]])
    assert merged == pytest.approx(expected, abs=1e-4 * len(rows))


def test_platt_calibrates_an_underconfident_model_on_few_rows() -> None:
    """A heavily regularised logistic regression on scikit-learn's breast cancer set (180 validation rows):
    its own scores are underconfident (CBPE on them puts the AUC 0.05 low); the calibration chosen by its
    cross-fitted reliability brings the estimate on unseen rows within 0.01 of the truth."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fuseboard.monitoring import performance
    from fuseboard.monitoring.estimation import cbpe

    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:, :10], data.target.to_numpy()
    order = np.random.default_rng(0).permutation(len(X))
    train, validation, unseen = order[:200], order[200:380], order[380:]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(X.iloc[train], y[train])

    def estimate(calibration: dict, rows: np.ndarray) -> float:
        folded = cbpe.fold_windows(model.predict(X.iloc[rows]), model.predict_proba(X.iloc[rows])[:, 1], calibration,
                                   ["0", "1"], [slice(None)])[0]
        return performance.metrics(folded)["roc_auc"]

    calibration = cbpe.fit(y[validation], model.predict(X.iloc[validation]),
                           model.predict_proba(X.iloc[validation])[:, 1], ["0", "1"], "validation")
    truth = roc_auc_score(y[unseen], model.predict_proba(X.iloc[unseen])[:, 1])
    assert calibration["method"] != "none"
    assert calibration["reliability_calibrated"] < calibration["reliability"]
    assert abs(estimate(calibration, unseen) - truth) < 0.01
    assert truth - estimate({**calibration, "method": "none"}, unseen) > 0.03


def test_covariate_shift_that_hurts_is_estimated_and_harmful(ws_url: str, tmp_path: Path) -> None:
    """Rows crowding at the decision boundary: the model's AUC falls with no label in sight; CBPE's
    estimate falls with it (within its interval of the truth), the check degrades and the triage says
    harmful, critical on a mission-critical model."""
    watched, model = _binary(ws_url, tmp_path, "mission-critical")
    rows = seeded_binary(3000, 21, spread=0.25)
    end = watched.ingest(rows)
    found = watched.checks(end)
    checks = by_check(found)
    est = checks["estimated_performance"]
    truth = roc_auc_score(rows["y"], model.predict_proba(rows[FEATURES])[:, 1])
    (auc,) = [c for c in est.details["checks"] if c["metric"] == "roc_auc"]
    assert truth < 0.85 and est.status in ("warn", "crit")
    low, high = auc["interval"]
    assert abs(auc["current"] - truth) < 0.03 and high - low < 0.05
    assert auc["baseline"] - auc["current"] > 0.05
    assert found.triage["verdict"] == "harmful"
    assert found.triage["reasons"][0].startswith("estimated roc_auc")
    assert checks["performance"].status == "none"  # no label yet: only the estimate could tell


def test_concept_shift_is_invisible_to_the_estimate_until_labels_arrive(ws_url: str, tmp_path: Path) -> None:
    """Labels change, inputs do not: the estimate stays at the baseline (it cannot see it, as README
    says); once the labels arrive, measured performance is degraded, the estimation error is there for
    all to see and the triage is harmful from the measured drop."""
    watched, model = _binary(ws_url, tmp_path)
    rows = seeded_binary(3000, 31, flip=True)
    end = watched.ingest(rows, labels=True)
    found = watched.checks(end)
    checks = by_check(found)
    est = checks["estimated_performance"]
    truth = roc_auc_score(rows["y"], model.predict_proba(rows[FEATURES])[:, 1])
    assert est.status == "ok" and checks["drift"].status == "ok"
    assert est.details["realized"]["roc_auc"] == pytest.approx(truth, abs=0.005)
    assert est.details["error"]["roc_auc"] > 0.1  # the estimate is optimistic, and it says by how much
    assert "labels say" in est.summary
    assert checks["performance"].status in ("warn", "crit")
    assert found.triage["verdict"] == "harmful" and found.triage["reasons"][0].startswith("measured")


def test_drift_in_a_feature_the_model_ignores_is_watch_not_harmful(ws_url: str, tmp_path: Path) -> None:
    watched, model = _binary(ws_url, tmp_path, "mission-critical")
    end = watched.ingest(seeded_binary(3000, 41, noise_shift=2.0))
    found = watched.checks(end)
    checks = by_check(found)
    assert checks["drift"].status == "warn" and checks["drift"].details.get("capped_by_importance")
    assert checks["estimated_performance"].status == "ok"
    assert checks["multivariate_drift"].status == "warn"
    assert found.triage["verdict"] == "watch"
    assert "noise" in found.triage["reasons"][0] and found.status == "warn"


@pytest.mark.parametrize("rows", [500, 20_000])
def test_no_shift_stays_quiet(ws_url: str, tmp_path: Path, rows: int) -> None:
    """Fresh rows from the reference's own distribution, small and large windows: nothing fires."""
    watched, _ = _binary(ws_url, tmp_path)
    end = watched.ingest(seeded_binary(rows, 51 + rows))
    found = watched.checks(end)
    checks = by_check(found)
    assert (checks["estimated_performance"].status, checks["multivariate_drift"].status) == ("ok", "ok"), \
        (checks["estimated_performance"].summary, checks["multivariate_drift"].summary)
    assert found.triage == {"verdict": "ok", "reasons": []}


def test_multivariate_drift_sees_a_broken_correlation_per_feature_drift_does_not(ws_url: str, tmp_path: Path) -> None:
    """Two features that rose together no longer do: the same marginals (no feature drifts), but the
    rows lie far from the reference's PCA. The window's mean error is scikit-learn's PCA (same
    components) on the standardised raw rows."""
    rng = np.random.default_rng(5)

    def rows(n: int, together: bool) -> pd.DataFrame:
        a = rng.normal(0, 1, n)
        b = a * 0.95 + rng.normal(0, 0.31, n) if together else rng.normal(0, 1, n)
        frame = pd.DataFrame({"a": a, "b": b, "c": rng.normal(0, 1, n)})
        frame["y"] = (a + rng.normal(0, 1, n) > 0).astype(int)
        return frame

    reference = rows(3000, True)
    model = LogisticRegression().fit(reference[["a", "b", "c"]], reference["y"])
    watched = watch(ws_url, tmp_path, model, reference, rows(2000, True))
    broken = rows(3000, False)
    end = watched.ingest(broken)
    checks = by_check(watched.checks(end))
    assert checks["drift"].status == "ok"
    mv = checks["multivariate_drift"]
    assert mv.status == "warn" and mv.details["mean_error"] > mv.details["high"]
    X_ref = reference[["a", "b", "c"]].to_numpy()
    mean, std = X_ref.mean(axis=0), X_ref.std(axis=0)
    pca = PCA(n_components=0.65, svd_solver="full").fit((X_ref - mean) / std)
    Z = (broken[["a", "b", "c"]].to_numpy() - mean) / std
    errors = np.linalg.norm(Z - pca.inverse_transform(pca.transform(Z)), axis=1)
    assert mv.details["mean_error"] == pytest.approx(errors.mean(), rel=1e-9)
    assert mv.details["components"] == pca.n_components_


def _heteroscedastic(n: int, seed: int, centre: float = 0.0) -> pd.DataFrame:
    """The error grows with |x1|: rows moved away from 0 are predicted worse."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(centre, 1, n), "x2": rng.normal(0, 1, n)})
    frame["y"] = 3 * frame["x1"] + frame["x2"] + rng.normal(0, 1, n) * (0.2 + np.abs(frame["x1"]))
    return frame


def test_dle_estimates_a_regressors_errors_before_the_labels(ws_url: str, tmp_path: Path) -> None:
    """The loss models learn where the error is large; rows moving there raise the estimated MAE as the
    realized one rises, and the check degrades; a no-shift window stays ok."""
    train = _heteroscedastic(4000, 1)
    model = LinearRegression().fit(train[["x1", "x2"]], train["y"])
    watched = watch(ws_url, tmp_path, model, _heteroscedastic(3000, 2), _heteroscedastic(3000, 3))
    with watched.ws.session() as s:
        assert set(s.exec(select(ModelVersion)).one().reference_profile["estimation"]) == {"encoding", "pca", "dle"}
    quiet = _heteroscedastic(3000, 4)
    checks = by_check(watched.checks(watched.ingest(quiet, labels=True)))
    assert checks["estimated_performance"].status == "ok", checks["estimated_performance"].summary
    moved = _heteroscedastic(3000, 5, centre=1.5)
    checks = by_check(watched.checks(watched.ingest(moved)))
    est = checks["estimated_performance"]
    truth = mean_absolute_error(moved["y"], model.predict(moved[["x1", "x2"]]))
    assert est.details["method"] == "dle" and est.status in ("warn", "crit")
    assert est.details["metrics"]["mae"] == pytest.approx(truth, rel=0.1)
    assert est.details["metrics"]["mae"] > 1.3 * est.details["checks"][-1]["baseline"] or \
        est.details["metrics"]["rmse"] > 1.3 * est.details["checks"][0]["baseline"]


def test_refit_gives_an_older_version_its_estimators_audited(ws_url: str, tmp_path: Path) -> None:
    watched, _ = _binary(ws_url, tmp_path)
    with watched.ws.transaction() as s:  # as a version registered before estimation was kept
        mv = s.exec(select(ModelVersion)).one()
        mv.reference_profile = {k: v for k, v in mv.reference_profile.items() if k != "estimation"}
        s.add(mv)
    end = watched.ingest(seeded_binary(500, 61))
    checks = by_check(watched.checks(end))
    assert checks["estimated_performance"].status == "none" and "models refit" in checks["estimated_performance"].summary
    assert checks["multivariate_drift"].status == "none"
    run = CliRunner().invoke(cli, ["--db", ws_url, "models", "refit", "m", "1", "--reference", str(tmp_path / "ref.csv"),
                                   "--validation", str(tmp_path / "val.csv"), "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["fitted"] == ["importance", "pca", "cbpe"]
    with watched.ws.session() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "version.refit")).one()
        assert event.target == "m@v1" and event.after["validation"] == "val.csv"
        assert "cbpe" in s.exec(select(ModelVersion)).one().reference_profile["estimation"]
    end = watched.ingest(seeded_binary(500, 62))
    assert by_check(watched.checks(end))["estimated_performance"].status == "ok"
    for args, said in ((["--reference", str(tmp_path / "absent.csv")], "absent.csv"),
                       (["--reference", str(tmp_path / "ref.csv"), "--validation", str(tmp_path / "nope.csv")],
                        "nope.csv")):
        bad = CliRunner().invoke(cli, ["--db", ws_url, "models", "refit", "m", "1", *args])
        assert bad.exit_code != 0 and said in bad.output and "Traceback" not in bad.output
        assert len(bad.output.strip().splitlines()) == 1


def test_check_shows_the_triage_first(ws_url: str, tmp_path: Path) -> None:
    watched, _ = _binary(ws_url, tmp_path)
    end = watched.ingest(seeded_binary(3000, 71, spread=0.25))
    at = end.isoformat()
    plain = CliRunner().invoke(cli, ["--db", ws_url, "check", "--at", at])
    lines = plain.output.splitlines()
    assert lines[2].startswith("    triage harmful: estimated roc_auc"), plain.output
    as_json = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "check", "--at", at, "--json"]).output)
    assert as_json[0]["triage"]["verdict"] == "harmful"
    assert [c["check"] for c in as_json[0]["checks"]][:4] == ["drift", "multivariate_drift", "prediction_drift",
                                                              "estimated_performance"]


def test_dle_follows_the_seasons_on_real_weather(ws_url: str, tmp_path: Path) -> None:
    """Seattle's weather (vega_datasets, shipped in the package): a linear model of the day's highest
    temperature fitted on 2012, its loss models on 2013; over the eight quarters of 2014-2015 the
    estimated MAE (no labels) stays within 12% of the measured one on average, and never
    claims a quarter degraded that was not."""
    from tests.support.real_data import seattle

    found = seattle()
    features = ["precipitation", "temp_min", "wind", "rained"]
    reference = found.reference.rename(columns={"temp_max": "y"})[[*features, "y"]]
    model = LinearRegression().fit(reference.iloc[:365][features], reference.iloc[:365]["y"])
    watched = watch(ws_url, tmp_path, model, reference.iloc[365:], reference.iloc[365:])
    misses, measured = [], []
    for _, window in found.windows:
        rows = window.rename(columns={"temp_max": "y"})[[*features, "y"]]
        est = by_check(watched.checks(watched.ingest(rows)))["estimated_performance"]
        truth = mean_absolute_error(rows["y"], model.predict(rows[features]))
        misses.append(abs(est.details["metrics"]["mae"] - truth))
        measured.append(truth)
        assert est.status in ("ok", "none"), est.summary
    assert np.mean(misses) < 0.12 * np.mean(measured), (misses, measured)


def test_cbpe_beyond_two_classes_on_real_digits() -> None:
    """scikit-learn's digits (ten classes): calibrated one class against the rest, rows normalised; the
    estimated accuracy and macro F1 on unseen rows are within 0.03 of the measured ones, and on rows of
    the digits the model confuses most (a covariate shift) the estimate falls as the truth does."""
    from sklearn.datasets import load_digits
    from sklearn.metrics import f1_score

    from fuseboard.monitoring import performance
    from fuseboard.monitoring.estimation import cbpe

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, validation, unseen = order[:600], order[600:1200], order[1200:]
    model = LogisticRegression(max_iter=2000, C=0.01).fit(X[train], y[train])
    classes = [str(c) for c in model.classes_]
    calibration = cbpe.fit(y[validation], model.predict(X[validation]), model.predict_proba(X[validation]), classes,
                           "validation")

    def estimate(rows: np.ndarray) -> dict[str, float]:
        return performance.metrics(cbpe.fold_windows(model.predict(X[rows]), model.predict_proba(X[rows]), calibration,
                                                     classes, [slice(None)])[0])

    found = estimate(unseen)
    assert abs(found["accuracy"] - np.mean(model.predict(X[unseen]) == y[unseen])) < 0.03
    assert abs(found["f1"] - f1_score(y[unseen], model.predict(X[unseen]), average="macro")) < 0.03
    hard = unseen[np.isin(y[unseen], [1, 8, 9])]
    truth = np.mean(model.predict(X[hard]) == y[hard])
    assert truth < np.mean(model.predict(X[unseen]) == y[unseen]) - 0.02
    assert abs(estimate(hard)["accuracy"] - truth) < 0.05


def test_a_large_windows_reconstruction_errors_come_from_a_seeded_sample() -> None:
    """Past 5,000 rows a window, the PCA's errors are worked out for a seeded sample of them: the folded
    column counts the rows read (the bounds are for them), its mean is within a few standard errors of
    every row's, and the same batch folds the same; a smaller window reads every row."""
    from fuseboard.monitoring import profiles
    from fuseboard.monitoring.estimation import fold, pca, sampling

    rng = np.random.default_rng(0)
    X = rng.normal(size=(12_000, 4))
    X[:, 1] += X[:, 0]
    columns = {f"x{j}": X[:, j] for j in range(4)}
    encoding = [{"name": f"x{j}", "kind": "numeric", "fill": 0.0, "mean": 0.0, "scale": 1.0} for j in range(4)]
    found = pca.fit(X[:2_000])
    model = {**found, "errors": profiles.numeric_profile(pd.Series(found.pop("_errors")))}
    reference = {"features": {}, "estimation": {"encoding": encoding, "pca": model}}
    windows = [slice(0, 9_000), slice(9_000, 12_000)]
    first, _ = fold.fold_batch(columns, None, None, reference, "regression", [], windows)
    again, _ = fold.fold_batch(columns, None, None, reference, "regression", [], windows)
    every = pca.errors(X, model["components"])
    assert [w["count"] for w in first] == [sampling.SAMPLE, 3_000]
    assert first == again
    assert first[1]["mean"] == pytest.approx(every[9_000:].mean(), rel=1e-9)
    standard_error = every[:9_000].std() / np.sqrt(sampling.SAMPLE)
    assert abs(first[0]["mean"] - every[:9_000].mean()) < 4 * standard_error
