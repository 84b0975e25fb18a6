"""Ingest speed: read + validate + profile a large Parquet file, against pyarrow reading it alone.

    python bench/ingest.py [--rows 1000000]

Builds a workspace with one registered model of 25 features (20 numeric, 5
categorical), writes ROWS inference rows to Parquet, then times pyarrow.parquet.read_table alone
and ``fuseboard ingest`` of the same file (read, validate against the schema, fold into window
profiles, write; each on a freshly opened workspace, as a new process would), one right after the
other, RUNS times; each run also ingests the file with the version's estimators (CBPE's calibration
and the multivariate PCA, fitted at registration) set aside, so what estimation adds is measured side
by side (``estimators_added``: 0.25 is 25% more time). This machine's timings wander by a third from minute to minute, so three ratios
are reported: the medians', the fastest runs', and the median of each run's own ratio (the read and
the ingest side by side, in the same conditions).
Also times one drift-and-performance check from the stored profiles, and (``--evidently-file``, on
by default) read + validate + profile of the drift comparison's current file
(bench/drift_vs_evidently.py's ``write_data``: 25 features and nothing else, no timestamps, so one
window of all the rows), against pyarrow reading that file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

N_NUM, N_CAT = 20, 5


def make_data(rows: int, seed: int = 0):  # noqa: ANN201
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"n{i}": rng.normal(i, 1 + i / 10, rows) for i in range(N_NUM)})
    for i in range(N_CAT):
        frame[f"c{i}"] = rng.choice([f"v{j}" for j in range(6 + i)], rows)
    frame["y"] = (frame["n0"] + rng.normal(0, 1, rows) > 0).astype(int)
    return frame


def setup(tmp: Path, rows: int) -> tuple[str, Path]:
    import joblib
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from fuseboard.ops.deploy import deploy
    from fuseboard.ops.registry import RegisterRequest, register
    from fuseboard.store.db import open_workspace

    train = make_data(20_000, seed=1)
    X, y = train.drop(columns="y"), train["y"]
    model = Pipeline([("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"),
                                                   [f"c{i}" for i in range(N_CAT)])], remainder="passthrough")),
                      ("clf", LogisticRegression(max_iter=200))]).fit(X, y)
    joblib.dump(model, tmp / "m.joblib")
    make_data(20_000, seed=2).to_csv(tmp / "ref.csv", index=False)
    url = f"sqlite:///{tmp / 'ws.db'}"
    ws = open_workspace(url)
    register(ws, RegisterRequest(model="bench", artifact=tmp / "m.joblib", reference=tmp / "ref.csv", target="y"),
             actor="bench", origin="cli")
    deploy(ws, "bench", 1, "prod", actor="bench", origin="cli", check_gates=False)
    ws.close()
    current = make_data(rows, seed=3)
    scores = model.predict_proba(current.drop(columns="y"))[:, 1]
    current["prediction"] = (scores >= 0.5).astype(int)
    current["score"] = scores
    current["label"] = current.pop("y")
    current["timestamp"] = np.datetime64("2026-11-29T12:00:00") + (np.arange(rows) * 3600 // rows).astype(
        "timedelta64[s]")
    path = tmp / "rows.parquet"
    current.to_parquet(path, index=False)
    return url, path


def evidently_file(tmp: Path, rows: int, runs: int) -> dict[str, float]:
    """Read + validate + profile of the drift comparison's current file, as ingest does it (columns
    read a few at a time while the first ones convert and fold), against pyarrow reading it. The
    file holds features only (no prediction column, so not a file ``fuseboard ingest`` takes): the
    features' checks and folds run alone, into one window, against a stand-in version."""
    from datetime import datetime, timezone
    from types import SimpleNamespace

    import numpy as np
    import pyarrow.parquet as pq
    from drift_vs_evidently import write_data

    from fuseboard.monitoring import ingest, profiles

    (tmp / "dv").mkdir()
    reference, current = write_data(tmp / "dv", rows, seed=0)
    ref_frame = ingest.read_file(reference).to_pandas()
    schema = profiles.feature_schema(ref_frame)
    version = SimpleNamespace(feature_schema=schema, reference_profile=profiles.build_profile(ref_frame, schema))
    del ref_frame
    now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)

    def ours() -> None:
        table = ingest.open_file(current)
        table.prefetch([f["name"] for f in schema])
        batch = ingest.Batch(table.num_rows, ingest._timestamps(table, str(current), now), {},
                             prediction=np.empty(0), scores=None, request_id=None, label=None)
        ingest.fold_windows(batch, [slice(0, table.num_rows)], version, "regression", [], table=table,
                            source=str(current))

    read, full = [], []
    for _ in range(runs):
        start = time.perf_counter()
        pq.read_table(current)
        read.append(time.perf_counter() - start)
        start = time.perf_counter()
        ours()
        full.append(time.perf_counter() - start)
    return {"evidently_file_read_s": statistics.median(read), "evidently_file_profile_s": statistics.median(full),
            "evidently_file_vs_read": statistics.median(full) / statistics.median(read),
            "evidently_file_vs_read_fastest": min(full) / min(read),
            "evidently_file_vs_read_per_run": statistics.median(f / r for f, r in zip(full, read))}


_SAVED: dict = {}


def timed_ingest(url: str, path: Path, estimators: bool) -> float:
    """One ingest of the file on a freshly opened workspace with no windows, the version keeping its
    estimators (CBPE's calibration, the PCA) or, for the side-by-side figure, not."""
    from sqlmodel import delete, select

    from fuseboard.monitoring import ingest
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import ModelVersion, WindowProfile

    ws = open_workspace(url)
    with ws.transaction() as s:
        s.exec(delete(WindowProfile))
        version = s.exec(select(ModelVersion)).one()
        profile = dict(version.reference_profile)
        _SAVED.setdefault("estimation", profile.get("estimation"))
        if estimators:
            profile["estimation"] = _SAVED["estimation"]
        else:
            profile.pop("estimation", None)
        version.reference_profile = profile
        s.add(version)
    ws.close()
    ws = open_workspace(url)
    start = time.perf_counter()
    ingest.ingest_file(ws, "bench", "prod", path)
    took = time.perf_counter() - start
    ws.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-evidently-file", dest="evidently_file", action="store_false")
    args = parser.parse_args()
    import pyarrow.parquet as pq

    from make_workspace import report

    from fuseboard.monitoring import checks
    from fuseboard.store.db import open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-bench-"))
    url, path = setup(tmp, args.rows)
    read, full, bare = [], [], []
    for run in range(args.runs):
        start = time.perf_counter()
        pq.read_table(path)
        read.append(time.perf_counter() - start)
        order = [True, False] if run % 2 else [False, True]  # with and without the estimators, in turn first
        for estimators in order:
            (full if estimators else bare).append(timed_ingest(url, path, estimators))
    if not order[-1]:  # the check below reads windows with their estimates
        timed_ingest(url, path, True)
    ws = open_workspace(url)
    from datetime import datetime, timezone

    now = datetime(2026, 11, 29, 12, 59, tzinfo=timezone.utc)
    check_times = []
    for _ in range(5):
        start = time.perf_counter()
        checks.run_checks(ws, now=now, probe_endpoints=False, only={"drift", "performance", "prediction_drift"})
        check_times.append(time.perf_counter() - start)
    result = {"rows": args.rows, "features": N_NUM + N_CAT,
              "pyarrow_read_s": statistics.median(read), "ingest_s": statistics.median(full),
              "pyarrow_read_fastest_s": min(read), "ingest_fastest_s": min(full),
              "ingest_without_estimators_s": statistics.median(bare),
              "estimators_added": statistics.median(full) / statistics.median(bare) - 1,
              "estimators_added_fastest": min(full) / min(bare) - 1,
              "estimators_added_per_run": statistics.median(f / b - 1 for f, b in zip(full, bare))}
    result["ingest_vs_read"] = result["ingest_s"] / result["pyarrow_read_s"]
    result["ingest_vs_read_fastest"] = result["ingest_fastest_s"] / result["pyarrow_read_fastest_s"]
    result["ingest_vs_read_per_run"] = statistics.median(f / r for f, r in zip(full, read))
    result["check_one_deployment_ms"] = 1000 * statistics.median(check_times)
    if args.evidently_file:
        result.update(evidently_file(tmp, args.rows, args.runs))
    report(result, args.json)


if __name__ == "__main__":
    main()
