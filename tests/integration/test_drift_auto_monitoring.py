"""``auto`` end to end: a new model gets it at registration, `monitoring set/show` change and name it,
and its no-shift control windows of 500 and 2,000 rows drawn from the reference raise no alert."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.monitoring import checks, ingest
from fuseboard.store.db import open_workspace
from tests.support.mixed import SHIFTED, mixed_frame, shifted
from tests.support.rows import checks_of


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, list(args))


def _target(frame: pd.DataFrame, seed: int) -> np.ndarray:
    logit = (np.log(frame["income"]) - 10.5) * 2 + (frame["plan"] == "pro") - 0.5 * frame["calls"] + 0.5
    return (np.random.default_rng(seed).random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.fixture
def mixed_model(demo_url: str, tmp_path: Path) -> tuple[str, pd.DataFrame, object]:
    """A new mission-critical classifier on the 16 mixed features, registered and deployed to dev."""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train, reference = mixed_frame(3_000, seed=1), mixed_frame(5_000, seed=2)
    numeric = [c for c in train.columns if pd.api.types.is_float_dtype(train[c])]
    categorical = [c for c in train.columns if c not in numeric]
    model = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), numeric),
                                                  ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])),
                      ("clf", LogisticRegression(max_iter=500))]).fit(train, _target(train, 1))
    joblib.dump(model, tmp_path / "mixed.joblib")
    reference.assign(y=_target(reference, 2)).to_csv(tmp_path / "ref.csv", index=False)
    registered = run("--db", demo_url, "register", "mixed", "--artifact", str(tmp_path / "mixed.joblib"),
                     "--reference", str(tmp_path / "ref.csv"), "--target", "y", "--criticality", "mission-critical",
                     "--yes")
    assert registered.exit_code == 0, registered.output
    deployed = run("--db", demo_url, "deploy", "mixed", "1", "--env", "dev", "--wait", "0", "--yes")
    assert deployed.exit_code == 0, deployed.output
    return demo_url, pd.read_csv(tmp_path / "ref.csv").drop(columns="y"), model


def _check(url: str, model: object, rows: pd.DataFrame) -> dict:
    rows = rows.reset_index(drop=True).copy()
    rows["score"] = model.predict_proba(rows)[:, 1]
    rows["prediction"] = model.predict(rows.drop(columns="score"))
    ws = open_workspace(url)
    ingest.ingest_table(ws, "mixed", "dev", ingest.as_table(rows))
    found, _ = checks_of(checks.run_checks(ws, probe_endpoints=False), "mixed", "dev")
    return found


def test_a_new_model_is_checked_with_auto_and_set_changes_it(mixed_model: tuple) -> None:
    url, _, _ = mixed_model
    shown = json.loads(run("--db", url, "monitoring", "show", "mixed", "--json").output)
    assert shown["settings"] == {"default_method": "auto"} and shown["effective"]["default_method"] == "auto"
    text = run("--db", url, "monitoring", "show", "mixed").output
    assert "default method auto;" in text and "auto: per feature and window, a test up to 1,000 values" in text
    changed = run("--db", url, "monitoring", "set", "mixed", "--default-method", "psi", "--method", "is_new=ztest",
                  "--threshold", "age=0.2", "--yes")
    assert changed.exit_code == 0, changed.output
    text = run("--db", url, "monitoring", "show", "mixed").output
    assert "default method psi;" in text and "is_new: ztest" in text and "age: psi (threshold 0.2)" in text
    bad = run("--db", url, "monitoring", "set", "mixed", "--default-method", "magic", "--yes")
    assert bad.exit_code == 1 and "default method magic: the methods are psi, ks" in bad.output


def test_models_registered_before_auto_keep_psi(mixed_model: tuple) -> None:
    from fuseboard.store import lookup

    url, reference, model = mixed_model
    ws = open_workspace(url)
    with ws.transaction() as s:  # as a model registered before auto existed: no default method stored
        m = lookup.model(s, "mixed")
        m.monitoring = {}
        s.add(m)
    found = _check(url, model, reference.sample(500, random_state=3))
    assert {f["method"] for f in found["drift"].details["features"]} == {"psi"}
    assert not any("chosen_by" in f for f in found["drift"].details["features"])
    assert found["prediction_drift"].details["method"] == "psi"


@pytest.mark.parametrize("rows", [500, 2_000])
def test_no_shift_control_windows_raise_no_drift_alert(mixed_model: tuple, rows: int) -> None:
    url, reference, model = mixed_model
    found = _check(url, model, reference.sample(rows, random_state=rows, replace=True))
    assert found["drift"].status == "ok", found["drift"].summary
    assert found["prediction_drift"].status == "ok", found["prediction_drift"].summary
    features = found["drift"].details["features"]
    assert len(features) == 16 and all(f["chosen_by"] == "auto" for f in features)
    assert {f["method"] for f in features} <= ({"ks", "ztest", "chisquare"} if rows <= 1_000
                                               else {"wasserstein", "jensenshannon", "chisquare"})


@pytest.mark.parametrize("rows", [500, 2_000])
def test_shifted_windows_are_caught(mixed_model: tuple, rows: int) -> None:
    url, reference, model = mixed_model
    found = _check(url, model, shifted(reference.sample(rows, random_state=rows), seed=rows))
    drift = found["drift"]
    assert {f["feature"] for f in drift.details["features"] if f["drifted"]} == SHIFTED, drift.summary
    assert drift.status == "crit"  # mission-critical: a feature drifted at critical magnitude
