"""Shared fixtures: isolated XDG folders, tiny trained models, a demo workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and data folders, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("FUSEBOARD_USER", "tester")
    monkeypatch.delenv("FUSEBOARD_DB", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fuseboard.ops.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-master") / "demo")


@pytest.fixture
def demo_path(demo_master: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace, safe to change."""
    target = tmp_path / "demo"
    shutil.copytree(demo_master, target)
    return target


@pytest.fixture
def demo_url(demo_path: Path) -> str:
    return f"sqlite:///{demo_path / 'demo.db'}"


@pytest.fixture
def credit_files(tmp_path: Path) -> dict[str, Path]:
    """A Pipeline with a OneHotEncoder trained on a DataFrame, plus reference and validation CSVs."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({
        "income": rng.normal(50_000, 12_000, n).round(),
        "age": rng.integers(20, 70, n),
        "region": rng.choice(["north", "south", "east"], n),
    })
    logit = -1 + 0.00003 * (60_000 - frame["income"]) + 0.8 * (frame["region"] == "south")
    frame["default"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["income", "age"]),
                                    ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])])),
        ("clf", LogisticRegression()),
    ]).fit(frame.iloc[:300].drop(columns="default"), frame.iloc[:300]["default"])
    paths = {"artifact": tmp_path / "credit.joblib", "reference": tmp_path / "ref.csv",
             "validation": tmp_path / "val.csv"}
    joblib.dump(model, paths["artifact"])
    frame.iloc[300:450].to_csv(paths["reference"], index=False)
    frame.iloc[450:].to_csv(paths["validation"], index=False)
    return paths


@pytest.fixture
def ws_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ws' / 'fuseboard.db'}"
