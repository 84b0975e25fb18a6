"""No-shift controls on real data raise no drift alert, with the settings a new model gets.

Four real data sets (tests/support/real_data.py: Seattle's weather, cars, scikit-learn's breast
cancer and diabetes sets), each registered twice through the CLI as a user would (a fitted model
and its reference CSV), deployed, and fed one no-shift control window drawn from its reference:
500 rows to one, 2,000 to the other, with timestamps in the last hour. ``fuseboard check``'s drift
and prediction-drift checks then find nothing, whatever method the product gives new models.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from click.testing import CliRunner

from fuseboard.cli import cli
from fuseboard.monitoring import checks
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from tests.support import real_data


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _model(real: real_data.RealSet) -> Any:
    """A plain model of the set: text features one-hot encoded; a classifier for class targets."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = real.reference[list(real.features)]
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numbers = [c for c in frame.columns if c not in text]
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text), (StandardScaler(), numbers))
    target = real.reference[real.target]
    estimator = Ridge() if pd.api.types.is_float_dtype(target) or target.nunique() > 20 else \
        LogisticRegression(max_iter=2000)
    return make_pipeline(encode, estimator).fit(frame, target)


def test_no_shift_controls_of_500_and_2000_rows_raise_no_drift_alert(ws_url: str, tmp_path: Path) -> None:
    now = utcnow()
    expected = {}
    for make in real_data.SETS:
        real = make()
        model = _model(real)
        joblib.dump(model, tmp_path / f"{real.name}.joblib")
        real.reference.to_csv(tmp_path / f"{real.name}.csv", index=False)
        for size, rows in real_data.controls(real.reference, seed=7).items():
            name = f"{real.name}-{size}"
            _run("--db", ws_url, "register", name, "--artifact", str(tmp_path / f"{real.name}.joblib"),
                 "--reference", str(tmp_path / f"{real.name}.csv"), "--target", real.target, "--yes")
            _run("--db", ws_url, "deploy", name, "1", "--env", "dev", "--wait", "0", "--yes")
            batch = rows[list(real.features)].copy()
            batch["prediction"] = model.predict(batch)
            # spread over the 50 minutes before now: inside the drift window of a new model
            batch["timestamp"] = [now - timedelta(minutes=50) + timedelta(minutes=49) * i / size for i in range(size)]
            batch.to_parquet(tmp_path / f"{name}.parquet", index=False)
            _run("--db", ws_url, "ingest", name, str(tmp_path / f"{name}.parquet"), "--env", "dev")
            expected[name] = size

    results = checks.run_checks(open_workspace(ws_url), now=now, probe_endpoints=False,
                                only={"drift", "prediction_drift"})
    found = {r.model: {c.check: c for c in r.checks} for r in results}
    assert set(found) == set(expected)
    alarms = {}
    for name, size in expected.items():
        drift, predictions = found[name]["drift"], found[name]["prediction_drift"]
        assert drift.rows == size, (name, drift.summary)  # a verdict on the whole control, not "none"
        drifted = [(f["feature"], f["method"], round(f["score"], 4)) for f in drift.details["features"]
                   if f["drifted"]]
        if drift.status != "ok" or drifted or predictions.status != "ok":
            alarms[name] = (drift.status, drifted, predictions.status, predictions.summary)
    assert alarms == {}
