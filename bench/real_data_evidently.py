"""Evidently 0.7's per-column drift verdicts for ``real_data.py``: run with the python of Evidently's venv.

    EVVENV/bin/python bench/real_data_evidently.py DIR

``DIR`` holds ``spec.json`` (``{"cases": [{"name", "numerical", "categorical", "windows": [label, ...]}]}``),
and per case ``<name>/reference.parquet`` and ``<name>/window-<i>.parquet`` (the features only).
Each window is compared with its case's reference by ``Report([DataDriftPreset()], include_tests=True)``
with Evidently's default methods (for a reference of at most 1,000 rows: KS for numbers with more
than five values, chi-square for categories and numbers with three to five, a Z-test for two;
beyond 1,000 rows: normed Wasserstein and Jensen-Shannon); the column types are given, the same
kinds fuseboard inferred. Prints one JSON object: ``{case: {window: {column: {"drifted", "score",
"method"}}}, "_version": ...}``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path


def verdicts(reference, current, numerical: list[str], categorical: list[str]) -> dict:  # noqa: ANN001
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition))
    out = snapshot.dict()
    scores = {m["config"]["column"]: (m["value"], m["config"].get("method"))
              for m in out["metrics"] if m["config"]["type"].endswith(":ValueDrift")}
    per: dict[str, dict] = {}
    for test in out["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith(":ValueDrift"):
            column = params["column"]
            value, method = scores[column]
            per[column] = {"drifted": test["status"] == "FAIL", "score": float(value), "method": method}
    return per


def main() -> None:
    import evidently
    import pandas as pd

    warnings.simplefilter("ignore")
    root = Path(sys.argv[1])
    spec = json.loads((root / "spec.json").read_text())
    result: dict = {"_version": evidently.__version__, "_pandas": pd.__version__}
    for case in spec["cases"]:
        folder = root / case["name"]
        reference = pd.read_parquet(folder / "reference.parquet")
        result[case["name"]] = {
            label: verdicts(reference, pd.read_parquet(folder / f"window-{i}.parquet"), case["numerical"],
                            case["categorical"])
            for i, label in enumerate(case["windows"])}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
