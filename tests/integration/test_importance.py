"""Which features the model leans on (issue 17, drift that hurts): permutation importance measured at
registration (equal to scikit-learn's on the same rows), shown by ``models show``, carried by the
drift check (its table ordered and weighted by it), and measured again for an older version with
``models importance``, audited."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sqlmodel import select

from fuseboard.cli import cli
from fuseboard.ops.registry import RegisterRequest, register
from fuseboard.store.db import open_workspace
from fuseboard.store.models import AuditEvent, Model, ModelVersion

RNG = np.random.default_rng(7)


def _frame(n: int, seed: int) -> pd.DataFrame:
    """``strong`` decides the label, ``weak`` nudges it, ``noise`` does nothing."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"strong": rng.normal(0, 1, n), "weak": rng.normal(0, 1, n), "noise": rng.normal(0, 1, n)})
    frame["y"] = (2.5 * frame["strong"] + 0.6 * frame["weak"] + rng.normal(0, 1, n) > 0).astype(int)
    return frame


def _files(tmp_path: Path) -> tuple[Path, Path, Path, LogisticRegression]:
    train = _frame(3000, 1)
    model = LogisticRegression().fit(train[["strong", "weak", "noise"]], train["y"])
    joblib.dump(model, tmp_path / "m.joblib")
    _frame(2000, 2).to_csv(tmp_path / "ref.csv", index=False)
    _frame(1500, 3).to_csv(tmp_path / "val.csv", index=False)
    return tmp_path / "m.joblib", tmp_path / "ref.csv", tmp_path / "val.csv", model


def _sklearn(model: LogisticRegression, rows: pd.DataFrame) -> dict[str, float]:
    found = permutation_importance(model, rows[["strong", "weak", "noise"]], rows["y"], scoring="roc_auc",
                                   n_repeats=5, random_state=0)
    return dict(zip(["strong", "weak", "noise"], map(float, found.importances_mean)))


def test_registration_measures_importance_as_sklearn_does(ws_url: str, tmp_path: Path) -> None:
    artifact, reference, validation, model = _files(tmp_path)
    ws = open_workspace(ws_url)
    result = register(ws, RegisterRequest(model="m", artifact=artifact, reference=reference, target="y",
                                          validation=validation), actor="t", origin="cli")
    found = result.importance
    assert found is not None and (found["on"], found["rows"], found["scoring"]) == ("validation", 1500, "roc_auc")
    assert found["drop"] == pytest.approx(_sklearn(model, pd.read_csv(validation)), abs=1e-12)
    assert sum(found["share"].values()) == pytest.approx(1.0)
    assert found["share"]["strong"] > 0.7 > found["share"]["weak"] > found["share"]["noise"]

    shown = CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "m"])
    assert shown.exit_code == 0
    assert "v1's importance: strong" in shown.output and "(permutation, roc_auc on 1,500 validation rows)" in \
        shown.output
    as_json = json.loads(CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "m", "--json"]).output)
    assert as_json["versions"][0]["importance"]["share"] == pytest.approx(found["share"])


def test_an_older_version_gets_its_importance_measured_again_and_audited(ws_url: str, tmp_path: Path) -> None:
    artifact, reference, validation, model = _files(tmp_path)
    ws = open_workspace(ws_url)
    register(ws, RegisterRequest(model="m", artifact=artifact, reference=reference, target="y"), actor="t",
             origin="cli")
    with ws.transaction() as s:  # as a version registered before importance was kept
        mv = s.exec(select(ModelVersion)).one()
        mv.reference_profile = {k: v for k, v in mv.reference_profile.items() if k != "importance"}
        s.add(mv)
    shown = CliRunner().invoke(cli, ["--db", ws_url, "models", "show", "m"])
    assert "v1's importance: not measured" in shown.output

    run = CliRunner().invoke(cli, ["--db", ws_url, "models", "importance", "m", "1", "--data", str(validation),
                                   "--json"])
    assert run.exit_code == 0, run.output
    again = json.loads(run.output)
    assert again["drop"] == pytest.approx(_sklearn(model, pd.read_csv(validation)), abs=1e-12)
    with ws.session() as s:
        stored = s.exec(select(ModelVersion)).one().reference_profile["importance"]
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "version.importance")).one()
        assert s.exec(select(Model)).one().name == "m"
    assert stored == again
    assert event.target == "m@v1" and event.after["file"] == "val.csv" and event.before == {}

    for args, said in ((["m", "1", "--data", str(reference.with_name("absent.csv"))], "absent.csv"),
                       (["m", "7", "--data", str(validation)], "no version 7"),
                       (["m", "1", "--data", str(_no_target(tmp_path))], "target column 'y'")):
        bad = CliRunner().invoke(cli, ["--db", ws_url, "models", "importance", *args])
        assert bad.exit_code != 0 and said in bad.output and "Traceback" not in bad.output
        assert len(bad.output.strip().splitlines()) == 1


def _no_target(tmp_path: Path) -> Path:
    path = tmp_path / "no-target.csv"
    _frame(50, 4).drop(columns="y").to_csv(path, index=False)
    return path


def test_the_drift_check_weighs_drifted_features_by_importance(ws_url: str, tmp_path: Path) -> None:
    """Of two features that drifted alike, the one the model leans on comes first, and the summary says
    what share of the importance drifted."""
    from fuseboard.monitoring import checks, ingest
    from fuseboard.ops.deploy import deploy

    artifact, reference, validation, model = _files(tmp_path)
    ws = open_workspace(ws_url)
    register(ws, RegisterRequest(model="m", artifact=artifact, reference=reference, target="y",
                                 validation=validation), actor="t", origin="cli")
    deploy(ws, "m", 1, "dev", actor="t", origin="cli", check_gates=False)
    rows = _frame(1200, 9)[["strong", "weak", "noise"]]
    rows["noise"] += 3.0  # the feature the model ignores further than the one it leans on: both badly
    rows["strong"] += 1.0
    rows["prediction"] = model.predict(rows[["strong", "weak", "noise"]])
    ingest.ingest_table(ws, "m", "dev", ingest.as_table(rows))
    (found,) = [c for d in checks.run_checks(ws, probe_endpoints=False) for c in d.checks if c.check == "drift"]
    features = found.details["features"]
    drifted = [f["feature"] for f in features if f["drifted"]]
    assert set(drifted) == {"strong", "noise"}
    assert [(f["feature"], f["severity"]) for f in features] == [("strong", "crit"), ("noise", "crit"), ("weak", "ok")]
    shares = {f["feature"]: f["importance"] for f in features}
    assert found.details["drifted_importance"] == pytest.approx(shares["strong"] + shares["noise"])
    assert f"({found.details['drifted_importance']:.0%} of the model's importance)" in found.summary


def test_drift_the_model_does_not_lean_on_is_at_most_a_warning(ws_url: str, tmp_path: Path) -> None:
    """A mission-critical model whose only drifted feature is one it ignores: warn, not crit, and the
    summary says why; with the floor at 0 (``monitoring set --importance-floor 0``) it is crit again."""
    from fuseboard.monitoring import checks, ingest
    from fuseboard.monitoring.settings import update
    from fuseboard.ops.deploy import deploy

    artifact, reference, validation, model = _files(tmp_path)
    ws = open_workspace(ws_url)
    register(ws, RegisterRequest(model="m", artifact=artifact, reference=reference, target="y", validation=validation,
                                 criticality="mission-critical"), actor="t", origin="cli")
    deploy(ws, "m", 1, "dev", actor="t", origin="cli", check_gates=False)
    rows = _frame(1200, 9)[["strong", "weak", "noise"]]
    rows["noise"] += 3.0
    rows["prediction"] = model.predict(rows[["strong", "weak", "noise"]])
    ingest.ingest_table(ws, "m", "dev", ingest.as_table(rows))

    def drift() -> object:
        (found,) = [c for d in checks.run_checks(ws, probe_endpoints=False) for c in d.checks if c.check == "drift"]
        return found

    found = drift()
    assert [f["feature"] for f in found.details["features"] if f["drifted"]] == ["noise"]
    assert found.details["features"][0]["severity"] == "crit"  # the feature drifted badly
    assert found.status == "warn" and found.details["capped_by_importance"] is True
    assert "at most warn: under 25% of the importance" in found.summary
    update(ws, "m", {"importance_floor": 0.0}, actor="t", origin="cli")
    found = drift()
    assert found.status == "crit" and "capped_by_importance" not in found.details
    bad = CliRunner().invoke(cli, ["--db", ws_url, "monitoring", "set", "m", "--importance-floor", "1.5"])
    assert bad.exit_code != 0 and "importance floor" in bad.output
