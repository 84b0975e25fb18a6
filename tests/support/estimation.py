"""A registered, deployed model to watch without labels (issue 17): register it from frames, ingest
windows of rows with the model's own predictions and scores, and read the checks a user would see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

AT = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Watched:
    ws: Any
    model: Any
    features: list[str]
    task: str
    step: int = 0

    def ingest(self, rows: pd.DataFrame, *, labels: bool = False) -> datetime:
        """Ingest ``rows`` (features and target ``y``) as one hour's traffic, the hour after the last one;
        returns the end of that hour."""
        from fuseboard.monitoring import ingest

        X = rows[self.features]
        batch = X.copy()
        batch["prediction"] = self.model.predict(X)
        if self.task == "classification":
            proba = self.model.predict_proba(X)
            if proba.shape[1] == 2:
                batch["score"] = proba[:, 1]
            else:
                for j, c in enumerate(self.model.classes_):
                    batch[f"score_{c}"] = proba[:, j]
        if labels:
            batch["label"] = rows["y"].to_numpy()
        start = AT + timedelta(hours=self.step)
        self.step += 1
        batch["timestamp"] = [start + timedelta(seconds=3599 * i / max(len(batch) - 1, 1))
                              for i in range(len(batch))]
        ingest.ingest_table(self.ws, "m", "dev", ingest.as_table(batch), now=start + timedelta(hours=1))
        return start + timedelta(hours=1)

    def checks(self, end: datetime) -> Any:
        """The deployment's checks over the hour that ends at ``end`` (as `check --at` reads it)."""
        from fuseboard.monitoring.checks import checks_at

        (found,) = checks_at(self.ws, end)
        return found


def watch(ws_url: str, tmp_path: Path, model: Any, reference: pd.DataFrame, validation: pd.DataFrame | None,
          *, criticality: str = "internal") -> Watched:
    """Register ``model`` with these frames (target ``y``) and deploy it to dev."""
    from fuseboard.ops.deploy import deploy
    from fuseboard.ops.registry import RegisterRequest, register
    from fuseboard.store.db import open_workspace

    joblib.dump(model, tmp_path / "m.joblib")
    reference.to_csv(tmp_path / "ref.csv", index=False)
    if validation is not None:
        validation.to_csv(tmp_path / "val.csv", index=False)
    ws = open_workspace(ws_url)
    register(ws, RegisterRequest(model="m", artifact=tmp_path / "m.joblib", reference=tmp_path / "ref.csv",
                                 target="y", validation=tmp_path / "val.csv" if validation is not None else None,
                                 criticality=criticality), actor="t", origin="cli")
    deploy(ws, "m", 1, "dev", actor="t", origin="cli", check_gates=False)
    features = [c for c in reference.columns if c != "y"]
    task = "classification" if hasattr(model, "classes_") else "regression"
    return Watched(ws, model, features, task)


def by_check(found: Any) -> dict[str, Any]:
    return {c.check: c for c in found.checks}


def seeded_binary(n: int, seed: int, *, spread: float = 1.0, noise_shift: float = 0.0, flip: bool = False
                  ) -> pd.DataFrame:
    """``strong`` decides the label, ``weak`` nudges it, ``noise`` does nothing. ``spread`` < 1 crowds the
    rows near the decision boundary (covariate shift that hurts); ``noise_shift`` moves the feature the
    model ignores; ``flip`` changes how ``weak`` bears on the label (concept shift: inputs as before)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"strong": rng.normal(0, spread, n), "weak": rng.normal(0, 1, n),
                          "noise": rng.normal(noise_shift, 1, n)})
    weak = -2.5 if flip else 0.6
    frame["y"] = (2.5 * frame["strong"] + weak * frame["weak"] + rng.normal(0, 1, n) > 0).astype(int)
    return frame
