"""Inference rows for credit-risk (from the sample data), and the helpers that feed them to a workspace."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fuseboard.config import resource_dir

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)  # the first row's timestamp


def credit_rows(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of the sample data as served: prediction, score, label, request id, a timestamp from T0 on."""
    rng = np.random.default_rng(seed)
    frame = pd.read_csv(resource_dir("sample_data") / "credit_risk.csv").sample(n, random_state=seed)
    score = np.clip(0.2 + 0.5 * frame["default"].to_numpy() + rng.normal(0, 0.2, n), 0, 1)
    out = frame.drop(columns="default").reset_index(drop=True)
    out["prediction"] = (score >= 0.5).astype(int)
    out["score"] = score
    out["label"] = frame["default"].to_numpy()
    out["request_id"] = [f"r{seed}-{i}" for i in range(n)]
    out["timestamp"] = [(T0 + pd.Timedelta(seconds=int(s))).isoformat() for s in np.linspace(0, 899, n)]
    return out


def served(ws, rows):  # noqa: ANN001, ANN201
    """The rows as prod's credit-risk v2 would have served them: its own predictions and scores."""
    import joblib

    from fuseboard.ops.registry import artifact_file
    from fuseboard.store import lookup

    with ws.session() as s:
        mv = lookup.version(s, lookup.model(s, "credit-risk"), 2)
    model = joblib.load(artifact_file(ws, mv))
    features = rows[[f["name"] for f in mv.feature_schema]]
    rows = rows.copy()
    rows["score"] = model.predict_proba(features)[:, 1]
    rows["prediction"] = model.predict(features)
    return rows


def ingest_rows(ws, rows, model="credit-risk", env="prod"):  # noqa: ANN001, ANN201
    """Ingest the rows (without their timestamps: they land in the current window)."""
    from fuseboard.monitoring import ingest

    rows = rows.drop(columns=["timestamp"])
    return ingest.ingest_table(ws, model, env, ingest.as_table(rows))


def checks_of(results, model, env):  # noqa: ANN001, ANN201
    """The check results of one deployment, by check name, and the deployment's result."""
    (found,) = [r for r in results if r.model == model and r.environment == env]
    return {c.check: c for c in found.checks}, found


def register_request(files: dict[str, Path], **kw: Any):  # noqa: ANN201
    """A RegisterRequest for the ``credit_files`` fixture's model (``kw`` overrides its fields)."""
    from fuseboard.ops.registry import RegisterRequest

    args: dict[str, Any] = dict(model="credit", artifact=files["artifact"], reference=files["reference"],
                                target="default", validation=files["validation"])
    args.update(kw)
    return RegisterRequest(**args)
