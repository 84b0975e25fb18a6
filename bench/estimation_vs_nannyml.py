"""Performance without labels, fuseboard against NannyML 0.13 (CBPE and DLE) on the same windows.

    # once: NannyML needs pandas < 3 and statsmodels, which it does not declare
    python3 -m venv NMLVENV && NMLVENV/bin/pip install 'nannyml==0.13.*' statsmodels 'pandas<3' pyarrow
    python bench/estimation_vs_nannyml.py --nannyml-python NMLVENV/bin/python [--json F] [--out DIR]

``--nannyml-python`` may also be given as $NANNYML_PYTHON; without either, fuseboard's side alone.

Cases (every one built here, no download):

* ``seeded-binary``: a logistic regression of ``strong``, ``weak`` and ``noise`` (which does not bear on
  the label). Windows of 2,000 rows, and one of 50,000 without shift: two without shift, a covariate shift that hurts (``strong`` crowded
  near the decision boundary), drift in the ignored ``noise``, and a concept shift (``weak`` bears on the
  label the other way: inputs as before).
* ``seeded-regression``: a linear model of ``y = 3 a + b + noise`` whose noise grows with ``|a|``; windows
  without shift, ``a`` spread wider (errors grow: hurts), drift in the ignored ``c``, and a concept shift
  (``b`` bears on ``y`` the other way).
* ``breast-cancer`` (scikit-learn's bundled set, binary): windows of unseen rows at random and the rows
  with the largest tumours.
* ``digits`` (scikit-learn's bundled set, ten classes): unseen rows at random and the same rows with
  noise added to the pixels.
* ``seattle-weather`` (vega_datasets, regression): the day's highest temperature, a model of 2012,
  reference 2013, windows the eight quarters of 2014-2015.

Both tools get the same reference rows (with labels, model outputs) and the same windows (without
labels); the realized metric of a window is scikit-learn's on its rows. fuseboard: the model registered
with the reference, each window ingested as one hour and read as ``check --at`` reads it; its time per
window is the estimation as ingest and the check do it (the window's rows folded: CBPE's or DLE's sums
and the PCA's errors; graded), the whole ingest and check beside it (every feature's profile, the
write, twelve 5-minute windows merged). NannyML: ``CBPE`` (isotonic calibration, its default) or ``DLE`` fitted on the reference, one
``estimate`` call per window (chunk size the window's rows); its time per window is that call.

The triage verdict is checked where a seeded window has an expected one: ``harmful`` for the shift that
hurts, ``watch`` for drift in the ignored feature, ``ok`` without shift; the concept shift cannot be seen
without labels (README), so it is expected ``ok`` or ``watch`` from the estimate and ``harmful`` once the
window's labels are ingested.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

AT = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
GOAL_SPEEDUP = 10.0
METRICS = {"classification": ["roc_auc", "accuracy"], "regression": ["mae", "rmse"]}


# -- the cases -------------------------------------------------------------------------------------

def _binary(n: int, seed: int, *, spread: float = 1.0, noise_shift: float = 0.0, flip: bool = False) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"strong": rng.normal(0, spread, n), "weak": rng.normal(0, 1, n),
                          "noise": rng.normal(noise_shift, 1, n)})
    weak = -2.5 if flip else 0.6
    frame["y"] = (2.5 * frame["strong"] + weak * frame["weak"] + rng.normal(0, 1, n) > 0).astype(int)
    return frame


def _regression(n: int, seed: int, *, spread: float = 1.0, noise_shift: float = 0.0, flip: bool = False) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(0, spread, n), "b": rng.normal(0, 1, n), "c": rng.normal(noise_shift, 1, n)})
    frame["y"] = 3 * frame["a"] + (-1 if flip else 1) * frame["b"] + rng.normal(0, 1, n) * (0.3 + np.abs(frame["a"]))
    return frame


SEEDED = [("no shift", {}, "ok"), ("no shift, again", {}, "ok"), ("covariate shift that hurts", {"spread": 0.35}, "harmful"),
          ("drift in the ignored feature", {"noise_shift": 2.0}, "watch"), ("concept shift", {"flip": True}, "concept"),
          ("no shift, a large window", {}, "ok")]
SIZES = [2_000] * 5 + [50_000]  # rows of each seeded window: the last shows how the time grows with the rows


def seeded_binary() -> dict:
    from sklearn.linear_model import LogisticRegression

    train = _binary(5_000, 1)
    model = LogisticRegression().fit(train.drop(columns="y"), train["y"])
    windows = [(name, _binary(n, 10 + i, **kw), expect) for i, ((name, kw, expect), n) in enumerate(zip(SEEDED, SIZES))]
    return {"name": "seeded-binary", "model": model, "reference": _binary(5_000, 2), "windows": windows}


def seeded_regression() -> dict:
    from sklearn.linear_model import LinearRegression

    train = _regression(5_000, 1)
    model = LinearRegression().fit(train.drop(columns="y"), train["y"])
    kws = [{}, {}, {"spread": 2.0}, {"noise_shift": 2.0}, {"flip": True}, {}]
    windows = [(name, _regression(n, 10 + i, **kw), expect) for i, ((name, _, expect), kw, n) in
               enumerate(zip(SEEDED, kws, SIZES))]
    return {"name": "seeded-regression", "model": model, "reference": _regression(5_000, 2), "windows": windows}


def breast_cancer() -> dict:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "y"})
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    order = np.random.default_rng(0).permutation(len(frame))
    train, reference, unseen = frame.iloc[order[:200]], frame.iloc[order[200:380]], frame.iloc[order[380:]]
    features = [c for c in frame.columns if c != "y"]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(train[features], train["y"])
    large = unseen.sort_values("worst_area").iloc[-90:]
    return {"name": "breast-cancer", "model": model, "reference": reference,
            "windows": [("unseen rows", unseen.iloc[:95], None), ("more unseen rows", unseen.iloc[95:], None),
                        ("the largest tumours", large, None)]}


def digits() -> dict:
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
    frame["y"] = y
    order = np.random.default_rng(0).permutation(len(frame))
    train, reference, unseen = frame.iloc[order[:600]], frame.iloc[order[600:1200]], frame.iloc[order[1200:]]
    features = [c for c in frame.columns if c != "y"]
    model = LogisticRegression(max_iter=2000, C=0.01).fit(train[features], train["y"])
    noisy = unseen.copy()
    noisy[features] = noisy[features] + np.random.default_rng(1).normal(0, 4, noisy[features].shape)
    return {"name": "digits", "model": model, "reference": reference,
            "windows": [("unseen rows", unseen, None), ("unseen rows with noisy pixels", noisy, None)]}


def seattle_weather() -> dict:
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from vega_datasets import local_data

    data = local_data.seattle_weather()
    data["date"] = pd.to_datetime(data["date"])
    data["rained"] = (data["precipitation"] > 0).astype(float)
    data = data.rename(columns={"temp_max": "y"})
    features = ["precipitation", "temp_min", "wind", "rained"]
    year = data["date"].dt.year
    model = LinearRegression().fit(data[year == 2012][features], data[year == 2012]["y"])
    later = data[year >= 2014]
    quarters = [(f"{y} Q{q}", later[(later["date"].dt.year == y) & (later["date"].dt.quarter == q)][[*features, "y"]],
                 None) for y in (2014, 2015) for q in (1, 2, 3, 4)]
    return {"name": "seattle-weather", "model": model, "reference": data[year == 2013][[*features, "y"]],
            "windows": quarters}


CASES = [seeded_binary, seeded_regression, breast_cancer, digits, seattle_weather]


def outputs(model: Any, X: Any) -> dict[str, Any]:
    """The columns a serving model logs: its prediction and, for a classifier, its scores."""
    out: dict[str, Any] = {"prediction": model.predict(X)}
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        if proba.shape[1] == 2:
            out["score"] = proba[:, 1]
        else:
            out.update({f"score_{c}": proba[:, j] for j, c in enumerate(model.classes_)})
    return out


def realized(task: str, rows: Any, out: dict[str, Any], classes: list[Any]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, roc_auc_score

    y = rows["y"].to_numpy()
    if task == "regression":
        return {"mae": float(mean_absolute_error(y, out["prediction"])),
                "rmse": float(np.sqrt(mean_squared_error(y, out["prediction"])))}
    if "score" in out:
        auc = roc_auc_score(y, out["score"])
    else:
        auc = roc_auc_score(y, np.column_stack([out[f"score_{c}"] for c in classes]), multi_class="ovr",
                            labels=classes)
    return {"roc_auc": float(auc), "accuracy": float(accuracy_score(y, out["prediction"]))}


# -- fuseboard's side ------------------------------------------------------------------------------

def run_fuseboard(case: dict, tmp: Path) -> dict:
    import joblib

    from fuseboard.monitoring import ingest
    from fuseboard.monitoring.checks import checks_at
    from fuseboard.monitoring.ingest.labels import ingest_labels_table
    from fuseboard.ops.deploy import deploy
    from fuseboard.ops.registry import RegisterRequest, register
    from fuseboard.store.db import open_workspace

    model, reference = case["model"], case["reference"]
    features = [c for c in reference.columns if c != "y"]
    task = "classification" if hasattr(model, "classes_") else "regression"
    joblib.dump(model, tmp / "m.joblib")
    reference.to_csv(tmp / "ref.csv", index=False)
    ws = open_workspace(f"sqlite:///{tmp / 'ws.db'}", artifact_dir=tmp / "artifacts")
    start = time.perf_counter()
    register(ws, RegisterRequest(model="m", artifact=tmp / "m.joblib", reference=tmp / "ref.csv", target="y"),
             actor="bench", origin="cli")
    fit_s = time.perf_counter() - start
    deploy(ws, "m", 1, "dev", actor="bench", origin="cli", check_gates=False)
    found = []
    for w, (name, rows, _) in enumerate(case["windows"]):
        batch = rows[features].reset_index(drop=True).copy()
        for column, values in outputs(model, rows[features]).items():
            batch[column] = values
        hour = AT + timedelta(days=2 * w)  # beyond the 24-hour performance window: no labels of the last window
        batch["timestamp"] = [hour + timedelta(seconds=3599 * i / max(len(batch) - 1, 1)) for i in range(len(batch))]
        batch["request_id"] = [f"{w}-{i}" for i in range(len(batch))]
        end = hour + timedelta(hours=1)
        start = time.perf_counter()
        ingest.ingest_table(ws, "m", "dev", ingest.as_table(batch), now=end)
        (checked,) = checks_at(ws, end)
        whole = time.perf_counter() - start
        took = estimation_seconds(ws, task, batch, features)
        estimate = next(c for c in checked.checks if c.check == "estimated_performance")
        labels = ingest.as_table(batch[["request_id"]].assign(label=rows["y"].to_numpy()))
        ingest_labels_table(ws, "m", "dev", labels, now=end)
        (labelled,) = checks_at(ws, end)
        found.append({"window": name, "rows": len(rows), "estimated": dict(estimate.details.get("metrics", {})),
                      "status": estimate.status, "triage": checked.triage.get("verdict"),
                      "triage_with_labels": labelled.triage.get("verdict"), "seconds": took,
                      "ingest_and_check_seconds": whole})
    ws.close()
    return {"task": task, "fit_s": fit_s, "windows": found}


def estimation_seconds(ws: Any, task: str, batch: Any, features: list[str], repeat: int = 5) -> float:
    """The estimation of one window as ingest and the check do it, without the rest of either: its rows folded
    (CBPE's or DLE's sums, and the PCA's reconstruction errors, which NannyML's estimators do not compute)
    and graded (``evaluate_estimated``); the fastest of ``repeat``."""
    from sqlmodel import select

    from fuseboard.monitoring import performance
    from fuseboard.monitoring.estimation.fold import fold_batch
    from fuseboard.monitoring.estimation.verdicts import evaluate_estimated
    from fuseboard.monitoring.ingest import as_table
    from fuseboard.monitoring.ingest.encode import Encoded, _feature
    from fuseboard.monitoring.ingest.fold import classes_of
    from fuseboard.monitoring.ingest.write import loss_models_of
    from fuseboard.monitoring.settings import Policy
    from fuseboard.store.models import ModelVersion

    with ws.session() as s:
        version = s.exec(select(ModelVersion)).one()
    reference = version.reference_profile
    classes = classes_of(version) if task == "classification" else []
    table = as_table(batch[features])
    columns = {f["name"]: _feature(table, f["name"], f["kind"], "bench") for f in version.feature_schema}
    scores: Any = None
    if task == "classification":
        labels = [str(v) for v in batch["prediction"]]
        prediction: Any = Encoded(np.array([classes.index(v) for v in labels]), classes)
        scores = batch["score"].to_numpy() if "score" in batch else batch[[f"score_{c}" for c in classes]].to_numpy()
    else:
        prediction = batch["prediction"].to_numpy(dtype="float64")
    loss_models = loss_models_of(ws, version)
    windows_idx = [slice(0, len(batch))]  # the window as one, as NannyML takes it as one chunk
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        _, estimated = fold_batch(columns, prediction, scores, reference, task, classes, windows_idx, loss_models)
        merged: Any = {}
        for window in estimated:
            merged = performance.merge(merged, window) if merged and window else (window or merged)
        evaluate_estimated(merged, {}, reference, version.validation_metrics, "internal", Policy())
        best = min(best, time.perf_counter() - start)
    return best


# -- NannyML's side (in its own environment) -------------------------------------------------------

def write_case(case: dict, root: Path) -> dict:
    model, reference = case["model"], case["reference"]
    features = [c for c in reference.columns if c != "y"]
    task = "classification" if hasattr(model, "classes_") else "regression"
    classes = [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", [])]
    folder = root / case["name"]
    folder.mkdir(parents=True)
    for name, rows in [("reference", reference)] + [(f"window-{w}", rows) for w, (_, rows, _) in
                                                   enumerate(case["windows"])]:
        frame = rows[[*features, "y"]].reset_index(drop=True).copy()
        for column, values in outputs(model, rows[features]).items():
            frame[column] = values
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return {"name": case["name"], "task": task, "features": features, "classes": classes,
            "windows": len(case["windows"])}


def child_nannyml(root: Path) -> dict:
    import nannyml as nml
    import pandas as pd

    warnings.simplefilter("ignore")
    spec = json.loads((root / "spec.json").read_text())
    out: dict[str, Any] = {"_version": nml.__version__}
    for case in spec["cases"]:
        folder = root / case["name"]
        reference = pd.read_parquet(folder / "reference.parquet")
        windows = [pd.read_parquet(folder / f"window-{w}.parquet") for w in range(case["windows"])]
        per, times, fit_s = [], [], 0.0
        for window in windows:
            size = len(window)
            if case["task"] == "regression":
                estimator = nml.DLE(feature_column_names=case["features"], y_pred="prediction", y_true="y",
                                    metrics=["mae", "rmse"], chunk_size=size)
            else:
                binary = len(case["classes"]) == 2
                estimator = nml.CBPE(
                    y_pred_proba="score" if binary else {c: f"score_{c}" for c in case["classes"]},
                    y_pred="prediction", y_true="y", metrics=["roc_auc", "accuracy"], chunk_size=size,
                    problem_type="classification_binary" if binary else "classification_multiclass")
            start = time.perf_counter()
            estimator.fit(reference)  # chunk size is the window's: fitted again for each size
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            result = estimator.estimate(window).filter(period="analysis").to_df()
            times.append(time.perf_counter() - start)
            row = result.iloc[0]
            per.append({m: float(row[(m, "value")]) for m in METRICS[case["task"]] if (m, "value") in row.index})
        out[case["name"]] = {"fit_s": fit_s, "windows": per, "seconds": times}
    return out


# -- both ------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nannyml-python", default=os.environ.get("NANNYML_PYTHON"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_nannyml(args.child)))
        return
    warnings.simplefilter("ignore")
    root = args.out or Path(tempfile.mkdtemp(prefix="fuseboard-nml-"))
    root.mkdir(parents=True, exist_ok=True)
    cases = [build() for build in CASES]
    spec = {"cases": [write_case(case, root / "data") for case in cases]}
    (root / "data" / "spec.json").write_text(json.dumps(spec))
    ours = {}
    for case in cases:
        (root / "fb" / case["name"]).mkdir(parents=True)
        ours[case["name"]] = run_fuseboard(case, root / "fb" / case["name"])
    theirs: dict = {}
    if args.nannyml_python:
        done = subprocess.run([args.nannyml_python, __file__, "--child", str(root / "data")], capture_output=True,
                              text=True, check=True)
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
    report(cases, ours, theirs, args.json)


def report(cases: list[dict], ours: dict, theirs: dict, path: Path | None) -> None:
    errors: dict[str, dict[str, list[float]]] = {"fuseboard": {}, "nannyml": {}}
    times: dict[str, list[float]] = {"fuseboard": [], "nannyml": []}
    verdicts_right, verdicts_checked, rows_out = 0, 0, []
    for case in cases:
        name = case["name"]
        classes = list(getattr(case["model"], "classes_", []))
        features = [c for c in case["reference"].columns if c != "y"]
        task = ours[name]["task"]
        for w, (window, rows, expect) in enumerate(case["windows"]):
            truth = realized(task, rows, outputs(case["model"], rows[features]), classes)
            fb = ours[name]["windows"][w]
            nm = theirs.get(name, {}).get("windows", [{}] * (w + 1))[w]
            line = {"case": name, "window": window, "rows": len(rows), "realized": truth, "fuseboard": fb["estimated"],
                    "nannyml": nm, "triage": fb["triage"], "triage_with_labels": fb["triage_with_labels"],
                    "expected": expect, "fuseboard_s": fb["seconds"],
                    "fuseboard_ingest_and_check_s": fb["ingest_and_check_seconds"],
                    "nannyml_s": (theirs.get(name, {}).get("seconds") or [None] * (w + 1))[w]}
            for side, got in (("fuseboard", fb["estimated"]), ("nannyml", nm)):
                for metric, value in truth.items():
                    if metric in got and np.isfinite(got[metric]):
                        errors[side].setdefault(metric, []).append(abs(got[metric] - value))
            times["fuseboard"].append(fb["seconds"])
            if expect is not None:
                verdicts_checked += 1
                right = (fb["triage"] in ("ok", "watch") and fb["triage_with_labels"] == "harmful") \
                    if expect == "concept" else fb["triage"] == expect
                verdicts_right += right
                line["triage_right"] = right
            rows_out.append(line)
        times["nannyml"] += theirs.get(name, {}).get("seconds", [])
    result: dict[str, Any] = {"windows": rows_out, "nannyml_version": theirs.get("_version"),
                              "mean_abs_error": {side: {m: float(np.mean(v)) for m, v in per.items()}
                                                 for side, per in errors.items() if per},
                              "seconds_per_window": {side: statistics.median(v) for side, v in times.items() if v},
                              "triage_right": f"{verdicts_right}/{verdicts_checked}"}
    if times["nannyml"]:
        result["speedup"] = result["seconds_per_window"]["nannyml"] / result["seconds_per_window"]["fuseboard"]
    print(f"{'case':18} {'window':32} {'metric':9} {'realized':>9} {'fuseboard':>10} {'nannyml':>9}  triage")
    for line in rows_out:
        for metric, value in line["realized"].items():
            fb, nm = line["fuseboard"].get(metric), line["nannyml"].get(metric)
            verdict = f"{line['triage']}/{line['triage_with_labels']}"
            if line["expected"] is not None:
                verdict += f" (expected {line['expected']}: {'right' if line['triage_right'] else 'WRONG'})"
            print(f"{line['case']:18} {line['window'][:32]:32} {metric:9} {value:9.4f} "
                  f"{'' if fb is None else f'{fb:10.4f}':>10} {'' if nm is None else f'{nm:9.4f}':>9}  {verdict}")
    print(f"\n{'case':18} {'rows':>6} {'fuseboard ms':>13} {'nannyml ms':>11} {'ingest+check ms':>16}  (medians)")
    for case in cases:
        mine = [line for line in rows_out if line["case"] == case["name"]]
        nm = [line["nannyml_s"] for line in mine if line["nannyml_s"] is not None]
        print(f"{case['name']:18} {int(statistics.median(line['rows'] for line in mine)):6d} "
              f"{statistics.median(line['fuseboard_s'] for line in mine) * 1000:13.1f} "
              f"{statistics.median(nm) * 1000 if nm else float('nan'):11.1f} "
              f"{statistics.median(line['fuseboard_ingest_and_check_s'] for line in mine) * 1000:16.1f}")
    large = [line for line in rows_out if line["rows"] >= 10_000 and line["nannyml_s"] is not None]
    for line in large:
        print(f"{line['case']:18} {line['rows']:6d} {line['fuseboard_s'] * 1000:13.1f} {line['nannyml_s'] * 1000:11.1f} "
              f"{line['fuseboard_ingest_and_check_s'] * 1000:16.1f}  (the large window)")
    print("\nmean absolute estimation error (all windows):")
    for metric in ("roc_auc", "accuracy", "mae", "rmse"):
        sides = [f"{side} {result['mean_abs_error'][side][metric]:.4f}" for side in ("fuseboard", "nannyml")
                 if metric in result["mean_abs_error"].get(side, {})]
        print(f"  {metric:9} " + "   ".join(sides))
    print("median seconds per window: " + "   ".join(f"{k} {v * 1000:.1f} ms" for k, v in
                                                     result["seconds_per_window"].items()))
    if "speedup" in result:
        print(f"speedup (nannyml / fuseboard, estimation per window): {result['speedup']:.1f}x   "
              f"(goal >= {GOAL_SPEEDUP:.0f}x)")
    print(f"triage verdicts right: {result['triage_right']}")
    if path:
        path.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
