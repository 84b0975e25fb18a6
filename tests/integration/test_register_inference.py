"""`register` says which number columns it profiles as categories and how to keep them numeric; a flag
read as floats at ingest (a null in a JSON batch) lands on the reference's categories, and a move in
its rate drifts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from click.testing import CliRunner
from scipy.stats import chi2_contingency

from fuseboard.cli import cli
from fuseboard.monitoring import checks, ingest
from fuseboard.ops.deploy import deploy
from fuseboard.store.db import open_workspace
from tests.support.rows import checks_of


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def frame(n: int, seed: int, flag_rate: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame({
        "flag": (rng.random(n) < flag_rate).astype(int),
        "plan": rng.integers(1, 5, n),
        "income": rng.normal(50.0, 10.0, n).round(1),
    })
    out["y"] = ((out["income"] + 10 * out["flag"] + rng.normal(0, 5, n)) > 55).astype(int)
    return out


def model_files(tmp_path: Path) -> dict[str, Path]:
    import joblib
    from sklearn.linear_model import LogisticRegression

    train = frame(800, 1, 0.2)
    model = LogisticRegression(max_iter=500).fit(train[["flag", "plan", "income"]], train["y"])
    reference = frame(2_000, 2, 0.2).astype({"flag": "float64"})  # written as 0.0 and 1.0: read back as floats
    paths = {"artifact": tmp_path / "m.joblib", "reference": tmp_path / "ref.csv"}
    joblib.dump(model, paths["artifact"])
    reference.to_csv(paths["reference"], index=False)
    return paths


def test_register_says_what_it_profiled_as_categories(ws_url: str, tmp_path: Path) -> None:
    files = model_files(tmp_path)
    result = run("--db", ws_url, "register", "m", "--artifact", str(files["artifact"]),
                 "--reference", str(files["reference"]), "--target", "y")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "flag: integer with 2 values, profiled as categorical (--feature flag=numeric to override)" in lines
    assert "plan: integer with 4 values, profiled as categorical (--feature plan=numeric to override)" in lines
    assert not any(line.startswith("income:") for line in lines)

    again = run("--db", ws_url, "register", "m", "--artifact", str(files["artifact"]), "--reference",
                str(files["reference"]), "--target", "y", "--feature", "plan=numeric", "--json")
    assert again.exit_code == 0, again.output
    kinds = {f["name"]: (f["kind"], f.get("inferred")) for f in json.loads(again.output)["features"]}
    assert kinds == {"flag": ("categorical", "integer with 2 values"), "plan": ("numeric", None),
                     "income": ("numeric", None)}


def test_a_flag_read_as_floats_at_ingest_drifts_when_its_rate_moves(ws_url: str, tmp_path: Path) -> None:
    files = model_files(tmp_path)
    assert run("--db", ws_url, "register", "m", "--artifact", str(files["artifact"]), "--reference",
               str(files["reference"]), "--target", "y").exit_code == 0
    ws = open_workspace(ws_url)
    deploy(ws, "m", 1, "prod", actor="t", origin="cli", check_gates=False)
    rows = frame(1_500, 3, 0.45)
    flag = rows["flag"].to_numpy(dtype="float64", copy=True)
    flag[::50] = np.nan
    table = pa.table({"flag": pa.array(flag, from_pandas=True), "plan": rows["plan"], "income": rows["income"],
                      "prediction": rows["y"]})
    ingest.ingest_table(ws, "m", "prod", table)
    result, _ = checks_of(checks.run_checks(ws, probe_endpoints=False, only={"drift"}), "m", "prod")
    by_feature = {f["feature"]: f for f in result["drift"].details["features"]}
    assert by_feature["flag"]["drifted"] and by_feature["flag"]["score"] > 0.1, by_feature["flag"]
    assert not by_feature["plan"]["drifted"] and not by_feature["income"]["drifted"]

    reference = pd.read_csv(files["reference"])["flag"]
    present = flag[~np.isnan(flag)]
    table = [[int((reference == v).sum()), int((present == v).sum())] for v in (0, 1)]
    assert chi2_contingency(table, correction=False)[1] < 1e-6  # the rate moved, on the raw rows
