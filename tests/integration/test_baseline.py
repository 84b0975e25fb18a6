"""Honest baselines (issue 16): without ``--validation`` a version's baseline is cross-validated on the
reference (clones of the estimator, as ``cross_val_predict`` makes them), or said loudly to be in-sample
when that cannot run; ``register`` and ``models show`` (plain and --json) say which."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn import metrics as skm
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.monitoring import checks, evaluate, ingest, performance
from fuseboard.monitoring.settings import Policy
from fuseboard.ops import baseline
from fuseboard.ops.registry import RegisterRequest, register
from fuseboard.store.db import open_workspace
from fuseboard.store.models import WindowProfile
from tests.support.rows import checks_of


def _rows(n: int, seed: int) -> pd.DataFrame:
    """A smooth target plus noise (sd 1): the best any model can do is an RMSE of about 1."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.uniform(0, 10, n), "b": rng.uniform(0, 10, n)})
    frame["y"] = 3 * np.sin(frame["a"]) + 0.5 * frame["b"] + rng.normal(0, 1, n)
    return frame


def _overfit(tmp_path: Path, n: int = 400) -> tuple[Path, Path, object]:
    """A deep tree fitted on its reference (its in-sample RMSE is 0), saved, and the reference file."""
    from sklearn.tree import DecisionTreeRegressor

    reference = _rows(n, seed=1)
    model = DecisionTreeRegressor(random_state=0).fit(reference[["a", "b"]], reference["y"])
    joblib.dump(model, tmp_path / "tree.joblib")
    reference.to_csv(tmp_path / "ref.csv", index=False)
    return tmp_path / "tree.joblib", tmp_path / "ref.csv", model


def test_an_overfit_model_is_not_degraded_on_fresh_data_from_its_own_distribution(demo_url: str,
                                                                                tmp_path: Path) -> None:
    """Before: the in-sample baseline (RMSE 0) made every window "degraded", however good the model."""
    from fuseboard.ops.deploy import deploy

    artifact, reference, model = _overfit(tmp_path)
    ws = open_workspace(demo_url)
    result = register(ws, RegisterRequest(model="overfit", artifact=artifact, reference=reference, target="y"),
                      actor="a", origin="cli")
    ref = pd.read_csv(reference)
    want = cross_val_predict(model, ref[["a", "b"]], ref["y"], cv=KFold(5, shuffle=True, random_state=0))
    assert result.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(ref["y"], want)), rel=1e-9)
    assert result.baseline == {"method": "cross-validated", "rows": 400, "folds": 5, "note": "",
                               "text": "cross-validated on the reference (5 folds, 400 rows)"}
    deploy(ws, "overfit", 1, "dev", actor="a", origin="cli", check_gates=False)
    fresh = _rows(600, seed=2)
    served = fresh[["a", "b"]].assign(prediction=model.predict(fresh[["a", "b"]]), label=fresh["y"])
    ingest.ingest_table(ws, "overfit", "dev", ingest.as_table(served))
    with ws.session() as s:  # ingest folds the sum of err ** 4 that an RMSE interval needs
        (stored,) = [w.performance for w in s.exec(select(WindowProfile))
                     if w.performance and w.performance["labelled"] == 600]
    err = served["prediction"] - served["label"]
    assert stored["sum_err4"] == pytest.approx(float(np.sum(err ** 4)), rel=1e-9)
    found, _ = checks_of(checks.run_checks(ws, probe_endpoints=False), "overfit", "dev")
    assert found["performance"].status == "ok", found["performance"].summary
    # the in-sample baseline, as registered before: the same window is "degraded" whatever happens
    window = performance.fold_regression(served["label"], served["prediction"])
    in_sample = np.sqrt(skm.mean_squared_error(ref["y"], model.predict(ref[["a", "b"]])))
    assert in_sample == 0.0
    assert evaluate.evaluate_performance(window, {"rmse": in_sample}, "internal", Policy()).status == "crit"


def test_register_and_models_show_say_which_baseline(ws_url: str, tmp_path: Path) -> None:
    artifact, reference, _ = _overfit(tmp_path)
    run = CliRunner().invoke(cli, ["--db", ws_url, "register", "overfit", "--artifact", str(artifact),
                                   "--reference", str(reference), "--target", "y"])
    assert run.exit_code == 0, run.output
    assert "baseline metrics cross-validated on the reference (5 folds, 400 rows): rmse " in run.stdout
    assert "warning" not in run.stderr
    shown = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "overfit", "--json"]).stdout)
    (version,) = shown["versions"]
    assert version["baseline"]["method"] == "cross-validated" and version["baseline"]["folds"] == 5
    assert (version["metrics"]["_baseline"], version["metrics"]["_folds"], version["metrics"]["_rows"],
            version["metrics"]["_dataset"]) == ("cross-validated", 5, 400, "reference")
    plain = CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "overfit"]).stdout
    assert "cv 5-fold" in plain and "in-sample" not in plain
    # with --validation: the validation file, as before
    val = tmp_path / "val.csv"
    _rows(100, seed=3).to_csv(val, index=False)
    run = CliRunner().invoke(cli, ["--db", ws_url, "register", "overfit", "--artifact", str(artifact),
                                   "--reference", str(reference), "--target", "y", "--validation", str(val)])
    assert "baseline metrics on the validation data (100 rows): rmse " in run.stdout
    shown = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "overfit", "--json"]).stdout)
    assert [v["baseline"]["method"] for v in shown["versions"]] == ["validation", "cross-validated"]


def test_a_baseline_that_cannot_be_cross_validated_is_in_sample_and_says_so(ws_url: str, tmp_path: Path) -> None:
    """A category seen once cannot be encoded by the folds that never saw it (handle_unknown="error")."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = _rows(200, seed=4).assign(shop=["north", "south"] * 99 + ["east", "west"])
    model = Pipeline([("prep", ColumnTransformer([("cat", OneHotEncoder(), ["shop"])], remainder="passthrough")),
                      ("reg", LinearRegression())]).fit(frame.drop(columns="y"), frame["y"])
    joblib.dump(model, tmp_path / "pipe.joblib")
    frame.to_csv(tmp_path / "ref.csv", index=False)
    run = CliRunner().invoke(cli, ["--db", ws_url, "register", "shops", "--artifact", str(tmp_path / "pipe.joblib"),
                                   "--reference", str(tmp_path / "ref.csv"), "--target", "y"])
    assert run.exit_code == 0, run.output
    assert "baseline metrics in-sample on the reference (200 rows; optimistic" in run.stdout
    (warning,) = [line for line in run.stderr.splitlines() if line.startswith("warning:")]  # one line
    assert warning.startswith("warning: the baseline is IN-SAMPLE: cross-validation could not run (fitting a "
                              "fold failed: Found unknown categories")
    assert warning.endswith("(register with --validation FILE)")
    pred = model.predict(frame.drop(columns="y"))
    shown = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "shops", "--json"]).stdout)
    (version,) = shown["versions"]
    assert version["metrics"]["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(frame["y"], pred)))
    assert version["baseline"]["method"] == "in-sample" and "Found unknown categories" in version["baseline"]["note"]
    plain = CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "shops"]).stdout
    assert "in-sample baseline (v1): optimistic if the model was fitted on the reference" in plain


class Opaque:
    """Predicts and fits, but is no scikit-learn estimator: it cannot be cloned."""

    def fit(self, X, y):  # noqa: ANN001, ANN201
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):  # noqa: ANN001, ANN201
        return np.full(len(X), self.mean_)


def test_what_cannot_be_cloned_or_split_is_in_sample() -> None:
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20.0)
    est = Opaque().fit(X, y)
    metrics, found = baseline.on_reference("regression", est, X, y, est.predict(X), None)
    assert found.method == "in-sample" and found.note.startswith("the estimator cannot be cloned")
    assert metrics["rmse"] == pytest.approx(np.std(y))
    from sklearn.linear_model import LogisticRegression

    labels = np.array([0] * 30 + [1])  # one row of class 1: no fold can hold it out and learn it
    clf = LogisticRegression().fit(np.arange(31.0).reshape(-1, 1), labels)
    _, found = baseline.on_reference("classification", clf, np.arange(31.0).reshape(-1, 1), labels,
                                     clf.predict(np.arange(31.0).reshape(-1, 1)), None)
    assert (found.method, found.note) == ("in-sample", "a class has only 1 row in the reference")


def test_large_references_are_cross_validated_on_a_seeded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setattr(baseline, "CV_MAX_ROWS", 100)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(0, 1, 300) > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    metrics, found = baseline.on_reference("classification", clf, X, y, clf.predict(X), clf.predict_proba(X))
    assert (found.method, found.rows, found.folds) == ("cross-validated", 100, 5)
    rows = np.sort(np.random.default_rng(0).choice(300, 100, replace=False))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    proba = cross_val_predict(LogisticRegression(), X[rows], y[rows], cv=cv, method="predict_proba")
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y[rows], proba[:, 1]), rel=1e-12)
    assert metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(y[rows], cross_val_predict(LogisticRegression(), X[rows], y[rows], cv=cv)), rel=1e-12)


def test_versions_registered_before_read_from_where_they_were_measured() -> None:
    assert baseline.of({"rmse": 1.0, "_dataset": "validation", "_rows": 50}) == baseline.Baseline("validation", 50)
    old = baseline.of({"rmse": 1.0, "_dataset": "reference", "_rows": 80})
    assert (old.method, old.rows, old.short()) == ("in-sample", 80, "in-sample")
    assert baseline.of({}).method == "unknown" and baseline.of(None).short() == "-"


def test_string_classes_and_more_than_two_cross_validate_like_sklearn(ws_url: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_iris(as_frame=True)
    frame = data.frame.assign(target=lambda f: f["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"}))
    X, y = frame.drop(columns="target"), frame["target"]
    est = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(X, y)
    joblib.dump(est, tmp_path / "iris.joblib")
    frame.to_csv(tmp_path / "iris.csv", index=False)
    result = register(open_workspace(ws_url), RegisterRequest(model="iris", artifact=tmp_path / "iris.joblib",
                                                              reference=tmp_path / "iris.csv", target="target"),
                      actor="a", origin="cli")
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    proba = cross_val_predict(est, X, y, cv=cv, method="predict_proba")
    pred = cross_val_predict(est, X, y, cv=cv)
    assert result.baseline["method"] == "cross-validated"
    assert result.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=est.classes_), rel=1e-12)
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), rel=1e-12)
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=est.classes_), rel=1e-9)
