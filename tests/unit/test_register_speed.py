"""Fast registration (issue 19, point 4): statistics of the model on seeded samples, everything else exact.

What drift compares with (the reference profile, the predictions behind it) stays exact over every row
however the work is split (chunks of rows predicted on a thread pool, columns profiled beside them); the
cross-validated baseline, the importances, CBPE's calibration and the PCA are measured on seeded samples
past their caps: the same on every run, and the same as the unsampled path below the caps.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sqlmodel import select

from fuseboard.monitoring import profiles
from fuseboard.monitoring.estimation import cbpe, encoding, pca
from fuseboard.ops import baseline, estimators, importance, predicting
from fuseboard.ops.registry import RegisterRequest, register
from fuseboard.store.db import open_workspace
from fuseboard.store.models import ModelVersion


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(3, 2, n), "c": rng.choice(["x", "y", "z"], n)})
    frame["y"] = (frame["a"] + 0.3 * (frame["c"] == "x") + rng.normal(0, 1, n) > 0).astype(int)
    return frame


def _model(tmp_path: Path) -> tuple[Path, Pipeline]:
    train = _rows(2_000, seed=1)
    model = Pipeline([("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])],
                                                 remainder="passthrough")),
                      ("clf", LogisticRegression())]).fit(train[["a", "b", "c"]], train["y"])
    joblib.dump(model, tmp_path / "m.joblib")
    return tmp_path / "m.joblib", model


def _register(url: str, artifact: Path, reference: Path, validation: Path | None = None) -> dict:
    ws = open_workspace(url)
    register(ws, RegisterRequest(model="m", artifact=artifact, reference=reference, target="y",
                                 validation=validation), actor="t", origin="cli")
    with ws.session() as s:
        mv = s.exec(select(ModelVersion)).one()
        stored = {"metrics": dict(mv.validation_metrics), "profile": dict(mv.reference_profile)}
    ws.close()
    return stored


def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Caps far below the rows, so every sampled statistic is sampled."""
    monkeypatch.setattr(baseline, "CV_MAX_ROWS", 300)
    monkeypatch.setattr(importance, "MAX_ROWS", 200)
    monkeypatch.setattr(estimators, "MAX_CALIBRATION_ROWS", 500)
    monkeypatch.setattr(estimators, "MAX_PCA_ROWS", 400)
    monkeypatch.setattr(predicting, "CHUNK_ROWS", 256)


def test_sampling_is_seeded_two_registrations_of_the_same_files_agree(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _small_caps(monkeypatch)
    artifact, _ = _model(tmp_path)
    _rows(2_000, seed=2).to_csv(tmp_path / "ref.csv", index=False)
    first = _register(f"sqlite:///{tmp_path / 'one.db'}", artifact, tmp_path / "ref.csv")
    second = _register(f"sqlite:///{tmp_path / 'two.db'}", artifact, tmp_path / "ref.csv")
    assert first == second
    assert first["metrics"]["_rows"] == 300 and first["metrics"]["_baseline"] == "cross-validated"
    estimation = first["profile"]["estimation"]
    assert (estimation["cbpe"]["rows"], estimation["pca"]["rows"], first["profile"]["importance"]["rows"]) == \
        (500, 400, 200)  # each says on how many rows it was measured
    assert first["profile"]["rows"] == 2_000  # the profile: every row


def test_below_the_caps_every_figure_is_the_unsampled_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file smaller than every cap: the calibration, the PCA and the importances are those of all its rows,
    computed directly; predicting in chunks on the pool changes no prediction."""
    from sklearn.inspection import permutation_importance

    monkeypatch.setattr(predicting, "CHUNK_ROWS", 100)  # 1,500 rows: 15 chunks
    artifact, model = _model(tmp_path)
    ref, val = _rows(1_500, seed=2), _rows(1_200, seed=3)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    val.to_csv(tmp_path / "val.csv", index=False)
    got = _register(f"sqlite:///{tmp_path / 'ws.db'}", artifact, tmp_path / "ref.csv", tmp_path / "val.csv")

    X, Xv = ref[["a", "b", "c"]], val[["a", "b", "c"]]
    want = profiles.build_profile(X, profiles.feature_schema(X), target=ref["y"], target_kind="categorical",
                                  predictions=pd.Series(model.predict(X)), prediction_kind="categorical")
    want["scores"] = profiles.profile_column(pd.Series(model.predict_proba(X)[:, 1]), "numeric")
    assert {k: got["profile"][k] for k in want} == want

    proba, pred = model.predict_proba(Xv), model.predict(Xv)
    calibration = cbpe.fit(val["y"].to_numpy(), pred, proba[:, 1], ["0", "1"], "validation")
    assert got["profile"]["estimation"]["cbpe"] == calibration and calibration["rows"] == 1_200

    schema = profiles.feature_schema(X)
    columns = estimators.columns_of(X, schema)
    coding = encoding.fit(columns, schema, want["features"])
    found = pca.fit(encoding.design(columns, coding, want["features"]))
    assert got["profile"]["estimation"]["pca"]["components"] == found["components"]
    assert got["profile"]["estimation"]["pca"]["rows"] == 1_500

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drops = permutation_importance(model, Xv, val["y"].to_numpy(), scoring="roc_auc", n_repeats=5,
                                       random_state=0).importances_mean
    assert list(got["profile"]["importance"]["drop"].values()) == pytest.approx(list(drops), abs=1e-12)


@pytest.mark.parametrize("scoring", ["accuracy", "neg_root_mean_squared_error"])
def test_stacked_permutation_is_scikit_learns_permutation_importance(scoring: str) -> None:
    """The importances' stacked copies are scored as scikit-learn scores each copy alone: the same numbers."""
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import Ridge

    rows = _rows(400, seed=4)
    X = rows[["a", "b"]]
    model = LogisticRegression().fit(X, rows["y"]) if scoring == "accuracy" else Ridge().fit(X, rows["a"] * 2)
    y = rows["y"].to_numpy() if scoring == "accuracy" else (rows["a"] * 2 + rows["b"]).to_numpy()
    want = permutation_importance(model, X, y, scoring=scoring, n_repeats=importance.REPEATS,
                                  random_state=importance.SEED).importances_mean
    assert importance._stacked_permutation(model, X, y, scoring).tolist() == want.tolist()


def test_a_300000_row_reference_profile_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Predicted in 65,536-row chunks on the pool, profiled column by column beside them: the profile is
    ``build_profile``'s of every row, with the predictions of one call on all of them."""
    monkeypatch.setattr(baseline, "CV_MAX_ROWS", 2_000)  # the model's statistics are not what is tested here
    monkeypatch.setattr(estimators, "MAX_CALIBRATION_ROWS", 2_000)
    monkeypatch.setattr(estimators, "MAX_PCA_ROWS", 2_000)
    artifact, model = _model(tmp_path)
    ref = _rows(300_000, seed=5)
    ref.to_parquet(tmp_path / "ref.parquet", index=False)
    got = _register(f"sqlite:///{tmp_path / 'ws.db'}", artifact, tmp_path / "ref.parquet")

    X = pd.read_parquet(tmp_path / "ref.parquet")[["a", "b", "c"]]
    proba = model.predict_proba(X)
    want = profiles.build_profile(X, profiles.feature_schema(X), target=ref["y"], target_kind="categorical",
                                  predictions=pd.Series(model.predict(X)), prediction_kind="categorical")
    want["scores"] = profiles.profile_column(pd.Series(proba[:, 1]), "numeric")
    assert len(predicting._chunks(len(X))) == 5
    assert {k: got["profile"][k] for k in want} == want
    assert want["rows"] == 300_000 and want["features"]["c"]["count"] == 300_000
