"""Registering versions: the common cases work, every bad input is one clear error and writes nothing."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sqlmodel import func, select

from fuseboard.errors import FuseboardError
from fuseboard.ops.registry import RegisterRequest, register
from fuseboard.store.files import sha256_file
from fuseboard.store.db import open_workspace
from fuseboard.store.models import AuditEvent, Model, ModelVersion
from tests.support.rows import register_request as _req


def _counts(ws) -> tuple[int, int, int, list[str]]:  # noqa: ANN001
    with ws.session() as s:
        files = sorted(str(p.relative_to(ws.artifact_dir)) for p in ws.artifact_dir.rglob("*") if p.is_file()) \
            if ws.artifact_dir.exists() else []
        return (s.exec(select(func.count()).select_from(Model)).one(),
                s.exec(select(func.count()).select_from(ModelVersion)).one(),
                s.exec(select(func.count()).select_from(AuditEvent)).one(), files)


def test_pipeline_with_string_categories_registers_with_sklearn_metrics(ws_url: str, credit_files) -> None:
    ws = open_workspace(ws_url)
    result = register(ws, _req(credit_files, criticality="mission-critical"), actor="ana", origin="cli")
    assert (result.model, result.version, result.created_model, result.task) == ("credit", 1, True, "classification")

    est = joblib.load(credit_files["artifact"])
    val = pd.read_csv(credit_files["validation"])
    X, y = val.drop(columns="default"), val["default"]
    proba = est.predict_proba(X)[:, 1]
    assert result.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba))
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, est.predict(X)))
    assert result.metrics["log_loss"] == pytest.approx(skm.log_loss(y, est.predict_proba(X)))
    assert result.metrics_on == "validation"

    with ws.session() as s:
        mv = s.exec(select(ModelVersion)).one()
        model = s.exec(select(Model)).one()
    assert model.criticality == "mission-critical"
    assert mv.registered_by == "ana" and mv.estimator_class == "Pipeline(LogisticRegression)"
    assert {f["name"]: f["kind"] for f in mv.feature_schema} == {
        "income": "numeric", "age": "numeric", "region": "categorical"}
    ref = pd.read_csv(credit_files["reference"])
    prof = mv.reference_profile["features"]
    assert prof["region"]["value_counts"] == ref["region"].value_counts().to_dict()
    assert sum(prof["income"]["counts"]) == len(ref) and prof["income"]["mean"] == pytest.approx(ref["income"].mean())
    assert prof["income"]["edges"][0] == ref["income"].min() and prof["income"]["edges"][-1] == ref["income"].max()
    # the artifact is stored by content and matches the original bytes
    stored = ws.artifact_dir / mv.artifact_path
    assert sha256_file(stored) == sha256_file(credit_files["artifact"]) == mv.artifact_sha256
    assert mv.artifact_path.endswith(f"{mv.artifact_sha256}.joblib")


def test_second_registration_is_version_two_and_audited(ws_url: str, credit_files) -> None:
    ws = open_workspace(ws_url)
    register(ws, _req(credit_files), actor="ana", origin="cli")
    result = register(ws, _req(credit_files, reason="retrained"), actor="ben", origin="cli")
    assert result.version == 2 and not result.created_model
    with ws.session() as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["model.create", "version.register", "version.register"]
        last = s.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.actor, last.reason, last.target) == ("ben", "retrained", "credit@v2")


def test_numeric_model_trained_on_arrays(ws_url: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True)
    frame = data.frame
    est = Ridge().fit(frame.drop(columns="target").to_numpy()[:300], frame["target"][:300])
    joblib.dump(est, tmp_path / "ridge.joblib")
    frame.iloc[300:].to_csv(tmp_path / "ref.csv", index=False)
    ws = open_workspace(ws_url)
    result = register(ws, RegisterRequest(model="diabetes", artifact=tmp_path / "ridge.joblib",
                                          reference=tmp_path / "ref.csv", target="target"), actor="a", origin="cli")
    # without --validation the baseline is cross-validated on the reference (issue 16): clones of the
    # estimator on five shuffled folds (seed 0), as cross_val_predict makes them
    from sklearn.model_selection import KFold, cross_val_predict

    X, y = frame.drop(columns="target").to_numpy()[300:], frame["target"][300:]
    pred = cross_val_predict(Ridge(), X, y, cv=KFold(5, shuffle=True, random_state=0))
    assert result.task == "regression" and result.metrics_on == "reference"
    assert (result.baseline["method"], result.baseline["folds"], result.baseline["rows"]) == (
        "cross-validated", 5, len(y))
    assert result.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert result.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert result.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_feature_kind_can_be_overridden(ws_url: str, credit_files) -> None:
    ws = open_workspace(ws_url)
    result = register(ws, _req(credit_files, feature_kinds={"age": "categorical"}), actor="a", origin="cli")
    assert {f["name"]: f["kind"] for f in result.features}["age"] == "categorical"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_CASES = {
    "missing artifact": (lambda f, t: {"artifact": t / "nope.joblib"}, "artifact not found"),
    "not an estimator": (lambda f, t: {"artifact": _dump(t, {"weights": [1, 2]})},
                         "not a scikit-learn estimator (it holds a dict)"),
    "not a joblib file": (lambda f, t: {"artifact": _write(t, "junk.joblib", "hello")}, "cannot load artifact"),
    "missing reference": (lambda f, t: {"reference": t / "absent.csv"}, "file not found"),
    "empty reference": (lambda f, t: {"reference": _write(t, "empty.csv", "")}, "file is empty"),
    "header only": (lambda f, t: {"reference": _write(t, "head.csv", "income,age,region,default\n")},
                    "header but no data rows"),
    "target absent": (lambda f, t: {"target": "label"}, "target column 'label' is not in"),
    "missing column": (lambda f, t: {"reference": _drop(f["reference"], t, "age")},
                       "column(s) the model was trained on are missing: 'age'"),
    "extra column": (lambda f, t: {"reference": _add(f["reference"], t, "shoe_size", 42)},
                     "column(s) the model does not use: 'shoe_size'"),
    "text where numbers": (lambda f, t: {"reference": _add(f["reference"], t, "income", "lots", row=3)},
                           "column 'income' must be numeric but line 5 holds 'lots'"),
    "empty target cell": (lambda f, t: {"validation": _add(f["validation"], t, "default", None, row=2)},
                          "target column 'default' is empty on 1 row(s), first at line 4"),
    "unknown label": (lambda f, t: {"validation": _add(f["validation"], t, "default", "maybe", row=0)},
                      "holds labels the model never learned: ['maybe'] (first at line 2"),
    "text declared numeric": (lambda f, t: {"feature_kinds": {"region": "numeric"}},
                              "region=numeric, but line 2 holds"),
    "task does not fit": (lambda f, t: {"task": "regression"},
                          "task regression does not fit Pipeline(LogisticRegression), which scikit-learn treats as "
                          "classification"),
    "regressor as next version": (lambda f, t: {"model": "existing", "artifact": _regressor(t)},
                                  "model 'existing' is a classification model, but this artifact is a regression"),
    "bad task": (lambda f, t: {"task": "ranking"}, "the task must be one of"),
    "bad name": (lambda f, t: {"model": "../etc"}, "model name '../etc' is not allowed"),
    "unknown owner": (lambda f, t: {"owner": "nobody"}, "no team named 'nobody'"),
    "validation target absent": (lambda f, t: {"validation": _drop(f["validation"], t, "default")},
                                 "target column 'default' is not in"),
}


def _regressor(tmp: Path) -> Path:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"income": [1.0, 2.0, 3.0], "age": [20, 30, 40], "region": ["north", "south", "east"]})
    model = Pipeline([("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])],
                                                 remainder="passthrough")), ("reg", Ridge())])
    return _dump(tmp, model.fit(frame, [1.0, 2.0, 3.0]))


def _dump(tmp: Path, obj: object) -> Path:
    path = tmp / "thing.joblib"
    joblib.dump(obj, path)
    return path


def _drop(src: Path, tmp: Path, column: str) -> Path:
    path = tmp / f"without-{column}-{src.name}"
    pd.read_csv(src).drop(columns=column).to_csv(path, index=False)
    return path


def _add(src: Path, tmp: Path, column: str, value: object, row: int | None = None) -> Path:
    frame = pd.read_csv(src)
    if row is None:
        frame[column] = value
    else:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    path = tmp / f"with-{column}-{src.name}"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_one_clear_error_and_writes_nothing(case: str, ws_url: str, credit_files, tmp_path: Path) -> None:
    ws = open_workspace(ws_url)
    register(ws, _req(credit_files, model="existing"), actor="a", origin="cli")
    before = _counts(ws)
    change, message = BAD_CASES[case]
    with pytest.raises(FuseboardError) as info:
        register(ws, _req(credit_files, **change(credit_files, tmp_path)), actor="a", origin="cli")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert _counts(ws) == before


def test_dotted_column_names_are_not_mistaken_for_duplicates(ws_url: str, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"price": [1.0, 2.0, 3.0, 4.0], "price.usd": [1.1, 2.2, 3.3, 4.4], "y": [0, 1, 0, 1]})
    joblib.dump(LogisticRegression().fit(frame[["price", "price.usd"]], frame["y"]), tmp_path / "m.joblib")
    frame.to_csv(tmp_path / "ref.csv", index=False)
    ws = open_workspace(ws_url)
    result = register(ws, RegisterRequest(model="prices", artifact=tmp_path / "m.joblib", reference=tmp_path / "ref.csv",
                                          target="y"), actor="a", origin="cli")
    assert [f["name"] for f in result.features] == ["price", "price.usd"]
    (tmp_path / "dup.csv").write_text("price,price,y\n1,2,0\n")
    with pytest.raises(FuseboardError, match="duplicate column 'price'"):
        register(ws, RegisterRequest(model="prices", artifact=tmp_path / "m.joblib", reference=tmp_path / "dup.csv",
                                     target="y"), actor="a", origin="cli")


def test_float_labels_match_integer_classes(ws_url: str, credit_files, tmp_path: Path) -> None:
    val = pd.read_csv(credit_files["validation"])
    val["default"] = val["default"].astype(float)
    val.to_csv(tmp_path / "val-float.csv", index=False)
    ws = open_workspace(ws_url)
    result = register(ws, _req(credit_files, validation=tmp_path / "val-float.csv"), actor="a", origin="cli")
    expected = register(ws, _req(credit_files), actor="a", origin="cli")
    assert result.metrics == expected.metrics


@pytest.mark.slow
def test_string_classes_and_more_than_two(ws_url: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    data = load_wine(as_frame=True)
    frame = data.frame.assign(target=lambda f: f["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"}))
    X, y = frame.drop(columns="target"), frame["target"]
    est = LogisticRegression(max_iter=5000).fit(X, y)
    joblib.dump(est, tmp_path / "wine.joblib")
    frame.to_csv(tmp_path / "wine.csv", index=False)
    ws = open_workspace(ws_url)
    # the same file as --validation: the artifact's own metrics on it (without one, the baseline is
    # cross-validated since issue 16: tests/integration/test_baseline.py)
    result = register(ws, RegisterRequest(model="wine", artifact=tmp_path / "wine.joblib", reference=tmp_path / "wine.csv",
                                          target="target", validation=tmp_path / "wine.csv"), actor="a", origin="cli")
    proba = est.predict_proba(X)
    assert result.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=est.classes_))
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, est.predict(X), average="macro"))


def test_owner_change_is_reported_and_audited_by_team_name(ws_url: str, credit_files) -> None:
    from fuseboard.ops.teams import add_team

    ws = open_workspace(ws_url)
    add_team(ws, "ds", "data-science", actor="a", origin="cli")
    add_team(ws, "ops", "it-operations", actor="a", origin="cli")
    register(ws, _req(credit_files, owner="ds"), actor="a", origin="cli")
    result = register(ws, _req(credit_files, owner="ops", criticality="mission-critical"), actor="a", origin="cli")
    assert result.changed == {"owner": "ops", "criticality": "mission-critical"}
    with ws.session() as s:
        update = s.exec(select(AuditEvent).where(AuditEvent.action == "model.update")).one()
    assert update.before == {"owner": "ds", "criticality": "internal"}
    assert update.after == {"owner": "ops", "criticality": "mission-critical"}


def test_numeric_model_names_the_bad_cell(ws_url: str, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    est = LinearRegression().fit(np.arange(20, dtype=float).reshape(10, 2), np.arange(10))
    joblib.dump(est, tmp_path / "lr.joblib")
    _write(tmp_path, "ref.csv", "a,b,y\n1,2,3\n4,oops,5\n")
    ws = open_workspace(ws_url)
    with pytest.raises(FuseboardError, match=r"column 'b' must be numeric but line 3 holds 'oops'"):
        register(ws, RegisterRequest(model="lr", artifact=tmp_path / "lr.joblib", reference=tmp_path / "ref.csv",
                                     target="y"), actor="a", origin="cli")


def test_an_artifact_swapped_on_disk_during_register_stores_the_bytes_that_were_measured(
        ws_url: str, credit_files, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The file is replaced by another model right after it was loaded: the version records the
    metrics, sha256 and bytes of the one model that was measured, never a mix of the two."""
    import hashlib

    from sklearn.dummy import DummyClassifier

    original = credit_files["artifact"].read_bytes()
    ref = pd.read_csv(credit_files["reference"])
    other = tmp_path / "other.joblib"
    joblib.dump(DummyClassifier(strategy="most_frequent").fit(ref.drop(columns="default"), ref["default"]), other)
    real_load = joblib.load

    def load_then_swap(source, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        loaded = real_load(source, *args, **kwargs)
        credit_files["artifact"].write_bytes(other.read_bytes())  # someone copies another model over it
        return loaded

    monkeypatch.setattr(joblib, "load", load_then_swap)
    ws = open_workspace(ws_url)
    result = register(ws, _req(credit_files), actor="ana", origin="cli")
    monkeypatch.setattr(joblib, "load", real_load)

    assert result.estimator_class == "Pipeline(LogisticRegression)" and result.metrics["roc_auc"] > 0.6
    with ws.session() as s:
        mv = s.exec(select(ModelVersion)).one()
    stored = (ws.artifact_dir / mv.artifact_path).read_bytes()
    assert mv.artifact_sha256 == result.sha256 == hashlib.sha256(original).hexdigest()
    assert stored == original  # the measured model, not the one now on disk
    assert credit_files["artifact"].read_bytes() != original


def test_parquet_reference_and_validation_register_as_their_csv_does(ws_url: str, credit_files,
                                                                     tmp_path: Path) -> None:
    """The same rows as Parquet (the region column dictionary-encoded, as pandas' categories are written)
    give the same version: metrics, schema and reference profile."""
    for name in ("reference", "validation"):
        frame = pd.read_csv(credit_files[name])
        frame["region"] = frame["region"].astype("category")
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    ws = open_workspace(ws_url)
    as_csv = register(ws, _req(credit_files, model="from-csv"), actor="a", origin="cli")
    as_parquet = register(ws, _req(credit_files, model="from-parquet", reference=tmp_path / "reference.parquet",
                                   validation=tmp_path / "validation.parquet"), actor="a", origin="cli")
    assert as_parquet.metrics == as_csv.metrics
    with ws.session() as s:
        csv_v, parquet_v = (s.exec(select(ModelVersion).join(Model).where(Model.name == name)).one()
                            for name in ("from-csv", "from-parquet"))
        assert parquet_v.feature_schema == csv_v.feature_schema
        assert parquet_v.reference_profile == csv_v.reference_profile


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"PAR1 this is not parquet", "cannot read Parquet: "),
])
def test_a_bad_parquet_reference_is_one_line(ws_url: str, credit_files, tmp_path: Path, content: bytes,
                                             message: str) -> None:
    (tmp_path / "ref.parquet").write_bytes(content)
    with pytest.raises(FuseboardError) as caught:
        register(open_workspace(ws_url), _req(credit_files, reference=tmp_path / "ref.parquet"), actor="a",
                 origin="cli")
    assert message in str(caught.value) and "ref.parquet" in str(caught.value)
