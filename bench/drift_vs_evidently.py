"""Data drift, fuseboard against Evidently 0.7's DataDriftPreset: from two Parquet files to the verdicts.

How to run it, from the repository root, with the python of fuseboard's dev environment (the one
``pip install -e .`` went into: the fuseboard side runs in a child process of that same python)::

    # once: Evidently needs pandas < 3, so it lives in an environment of its own
    python3 -m venv EVVENV && EVVENV/bin/pip install 'evidently>=0.7,<0.8' 'pandas<3' pyarrow

    # both sides (Evidently takes ~3 minutes at 1M rows); the files are written to --out, or to a
    # temporary directory that is removed afterwards when --out is not given
    python bench/drift_vs_evidently.py --rows 1000000 --evidently-python EVVENV/bin/python --out /tmp/dv1m

    # again on the same files (--reuse), fuseboard only: no Evidently environment needed
    python bench/drift_vs_evidently.py --rows 1000000 --out /tmp/dv1m --reuse --only fuseboard

``--evidently-python`` may also be given as $EVIDENTLY_PYTHON; with ``--reuse`` and both files
present, ``--rows`` is not used; ``--json PATH`` ('-': stdout) also writes the figures, per-stage
seconds included, as JSON; ``--seed`` changes the data. The time of each stage is printed under each
side ("stages: read reference ..., profile reference ...").

Writes a seeded reference.parquet and current.parquet (ROWS rows x 25 features: 20 numeric
f00..f19, 5 categorical c0..c4), in which a known set of columns drifts (mean shifts, scale
changes, shifted category frequencies) and the rest are identically distributed. Then runs each
side in its own child process, so each one's peak memory is its own (the child reports its peak
resident memory, VmHWM; see ``_rss_mb``):

* fuseboard: the reference file read with pyarrow and profiled as registration profiles a
  reference (``profiles.feature_schema`` + ``profiles.build_profile``); the current file read,
  encoded and folded into a window profile as ingest does (``ingest.read_file``,
  ``ingest._feature`` per feature, ``ingest.fold_window``); then the drift
  check as the monitor runs it (``checks.evaluate_drift``: ``drift.feature_drift`` with the
  default method, PSI, per feature, and ``drift.dataset_drift``). No database: the version is a
  stand-in holding the schema and the reference profile.
* Evidently: both files read with pandas, ``Report([DataDriftPreset()], include_tests=True)`` run
  on them (default methods: normed Wasserstein for numbers, Jensen-Shannon for categories, at
  these sizes), and each column's verdict read from its ValueDrift test.

Time is wall time from reading the two files to the per-feature verdicts; each side's imports
(its own, and the pandas/pyarrow/numpy it uses) are timed apart, before the clock starts. Exits 1 when the two sides' drifted columns differ (``--strict``: also 2 when the
issue's goals, >= 50x faster and <= half the peak memory, are missed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_NUM, N_CAT = 20, 5
NUMERIC = [f"f{i:02d}" for i in range(N_NUM)]
CATEGORICAL = [f"c{i}" for i in range(N_CAT)]
# What the current file does differently from the reference; every other column is drawn the same way.
NUMERIC_DRIFT = {"f02": ("shift", 0.5), "f05": ("shift", -0.6), "f08": ("scale", 1.5), "f11": ("scale", 0.6),
                 "f14": ("shift", 0.5)}
CATEGORICAL_DRIFT = {"c1": "frequencies", "c3": "frequencies + a new category"}
SUBTLE = {"f17": ("shift", 0.02)}  # a nudge below both tools' thresholds: must NOT drift
EXPECTED = sorted([*NUMERIC_DRIFT, *CATEGORICAL_DRIFT])
GOAL_SPEEDUP, GOAL_MEMORY = 50.0, 0.5


# -- data ----------------------------------------------------------------------------------

def _numeric(rng, i: int, n: int, change: tuple[str, float] | None):  # noqa: ANN001, ANN202
    """Column ``i``: one of five shapes, with its own location and scale; ``change`` in units of its std."""
    import numpy as np

    shape = i % 5
    if shape == 0:
        x, std = rng.normal(0.0, 1.0, n), 1.0
    elif shape == 1:
        x, std = rng.lognormal(0.0, 0.5, n), float(np.sqrt((np.exp(0.25) - 1) * np.exp(0.25)))
    elif shape == 2:
        x, std = rng.uniform(0.0, 1.0, n), float(np.sqrt(1 / 12))
    elif shape == 3:
        x, std = rng.exponential(1.0, n), 1.0
    else:
        x, std = rng.gamma(3.0, 1.0, n), float(np.sqrt(3.0))
    mean = float(x.mean())
    if change is not None:
        kind, amount = change
        x = x + amount * std if kind == "shift" else mean + (x - mean) * amount
    loc, scale = 10.0 * i - 50.0, 1.0 + i / 4
    return loc + scale * x


def _categorical(rng, i: int, n: int, current: bool):  # noqa: ANN001, ANN202
    import numpy as np

    k = 4 + 2 * i  # 4, 6, 8, 10, 12 categories
    values = [f"c{i}_{j}" for j in range(k)]
    weights = np.linspace(2.0, 1.0, k)  # mildly unequal frequencies
    name = f"c{i}"
    if current and name == "c1":  # the two most frequent categories lose a third of their share to the rarest
        weights = weights.copy()
        moved = weights[:2] / 3
        weights[:2] -= moved
        weights[-2:] += moved[::-1]
    if current and name == "c3":  # frequencies reversed, and a category the reference never had
        weights = np.append(weights[::-1], 0.05 * weights.sum())
        values = [*values, "c3_new"]
    return rng.choice(np.array(values), n, p=weights / weights.sum())


def write_data(out: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """reference.parquet and current.parquet; every column has its own stream, so sides differ only by drift."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = []
    for side, current in (("reference", False), ("current", True)):
        columns = {}
        for i, name in enumerate(NUMERIC):
            rng = np.random.default_rng([seed, int(current), i])
            change = (NUMERIC_DRIFT.get(name) or SUBTLE.get(name)) if current else None
            columns[name] = _numeric(rng, i, rows, change)
        for i, name in enumerate(CATEGORICAL):
            rng = np.random.default_rng([seed, int(current), 100 + i])
            columns[name] = pa.array(_categorical(rng, i, rows, current), type=pa.string())
        path = out / f"{side}.parquet"
        pq.write_table(pa.table(columns), path)
        paths.append(path)
        del columns
    return paths[0], paths[1]


# -- the two sides, each in its own process --------------------------------------------------

def _rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    Linux's VmHWM belongs to the address space, which ``exec`` replaces; ``ru_maxrss`` (the
    fallback elsewhere) carries the spawning process's peak across ``exec``, which would charge
    the parent's memory to the child. The parent is kept small (the data is written by a child
    too) so the two agree here.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def child_fuseboard(reference: Path, current: Path) -> dict:
    from datetime import datetime, timezone
    from types import SimpleNamespace

    t = time.perf_counter()
    import numpy as np
    import pandas  # noqa: F401  (fuseboard imports these lazily; import them outside the timed part, as Evidently does)
    import pyarrow.parquet  # noqa: F401

    from fuseboard.monitoring import checks, ingest, profiles

    stages: dict[str, float] = {"imports": time.perf_counter() - t}
    rss_imports = _rss_mb()

    def stage(name: str, start: float) -> float:
        now = time.perf_counter()
        stages[name] = now - start
        return now

    start = t = time.perf_counter()
    # reference: read with pyarrow, then profiled as registration profiles its reference frame
    ref_frame = ingest.read_file(reference).to_pandas()
    t = stage("read reference", t)
    schema = profiles.feature_schema(ref_frame)
    profile = profiles.build_profile(ref_frame, schema)
    del ref_frame
    t = stage("profile reference", t)
    # current: read and each feature converted as ingest converts it (the files hold features only,
    # no prediction column), then folded by fold_window
    table = ingest.read_file(current)
    t = stage("read current", t)
    source = str(current)
    features = {f["name"]: ingest._feature(table, f["name"], f["kind"], source) for f in schema}
    seconds = ingest._timestamps(table, source, datetime.now(timezone.utc))
    rows = table.num_rows
    del table
    # no predictions in these files: an empty prediction column, which fold_window folds for nothing
    batch = ingest.Batch(rows, seconds, features, prediction=np.empty(0), scores=None, request_id=None, label=None)
    t = stage("encode current", t)
    starts = ingest._window_starts(batch.seconds)
    assert np.unique(starts).size == 1  # no timestamps: one window, as ingest would make
    version = SimpleNamespace(feature_schema=schema, reference_profile=profile)
    window, _, _ = ingest.fold_window(batch, slice(0, rows), version, "regression", [])
    window = ingest.merge_profiles({}, window)
    t = stage("fold current", t)
    result = checks.evaluate_drift(window, profile, "internal", checks.Policy())
    t = stage("drift verdict", t)
    total = t - start
    per = {f["feature"]: {"drifted": f["drifted"], "score": f["score"], "method": f["method"]}
           for f in result.details["features"]}
    return {"seconds": total, "stages": stages, "peak_mb": _rss_mb(), "rss_after_imports_mb": rss_imports,
            "rows": rows, "columns": per, "dataset_drift": bool(result.details["dataset_drift"])}


def child_evidently(reference: Path, current: Path) -> dict:
    t = time.perf_counter()
    import evidently
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (pandas reads Parquet with it: imported outside the timed part)
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    stages: dict[str, float] = {"imports": time.perf_counter() - t}
    rss_imports = _rss_mb()

    def stage(name: str, start: float) -> float:
        now = time.perf_counter()
        stages[name] = now - start
        return now

    start = t = time.perf_counter()
    ref = pd.read_parquet(reference)
    cur = pd.read_parquet(current)
    t = stage("read both", t)
    # the column types given, not inferred: both sides then judge the same 20 numbers and 5 categories
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    ref_ds = Dataset.from_pandas(ref, data_definition=definition)
    cur_ds = Dataset.from_pandas(cur, data_definition=definition)
    t = stage("datasets", t)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(cur_ds, ref_ds)
    t = stage("report run", t)
    out = snapshot.dict()
    per: dict[str, dict] = {}
    scores = {m["config"]["column"]: (m["value"], m["config"].get("method"))
              for m in out["metrics"] if m["config"]["type"].endswith(":ValueDrift")}
    dataset_drift = None
    for test in out["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith(":ValueDrift"):
            column = params["column"]
            per[column] = {"drifted": test["status"] == "FAIL", "score": float(scores[column][0]),
                           "method": scores[column][1]}
        elif params["type"].endswith(":DriftedColumnsCount"):
            dataset_drift = test["status"] == "FAIL"  # "share of drifted columns less than drift_share" failed
    t = stage("verdicts", t)
    return {"seconds": t - start, "stages": stages, "peak_mb": _rss_mb(), "rss_after_imports_mb": rss_imports,
            "rows": len(ref), "columns": per, "dataset_drift": dataset_drift, "version": evidently.__version__,
            "pandas": pd.__version__}


def run_child(python: str, side: str, reference: Path, current: Path) -> dict:
    cmd = [python, __file__, "--child", side, "--reference", str(reference), "--current", str(current)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{side} child failed (exit {proc.returncode}): {' '.join(cmd)}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1])
    result["process_seconds"] = wall
    return result


# -- report --------------------------------------------------------------------------------

def drifted(side: dict) -> list[str]:
    return sorted(c for c, v in side["columns"].items() if v["drifted"])


def summarise(rows: int, fb: dict | None, ev: dict | None) -> dict:
    result: dict = {"rows": rows, "features": N_NUM + N_CAT, "expected_drifted": EXPECTED}
    for name, side in (("fuseboard", fb), ("evidently", ev)):
        if side is not None:
            result[name] = {"seconds": side["seconds"], "peak_mb": side["peak_mb"],
                            "rss_after_imports_mb": side["rss_after_imports_mb"], "stages": side["stages"],
                            "process_seconds": side["process_seconds"], "drifted": drifted(side),
                            "dataset_drift": side["dataset_drift"],
                            "scores": {c: round(v["score"], 5) for c, v in side["columns"].items()}}
    if fb and ev:
        result["speedup"] = ev["seconds"] / fb["seconds"]
        result["memory_ratio"] = fb["peak_mb"] / ev["peak_mb"]
        result["same_drifted"] = drifted(fb) == drifted(ev)
        result["disagreements"] = sorted(set(drifted(fb)) ^ set(drifted(ev)))
        result["goals_met"] = (result["speedup"] >= GOAL_SPEEDUP and result["memory_ratio"] <= GOAL_MEMORY
                               and result["same_drifted"])
        result["evidently_version"] = ev.get("version")
    return result


def print_table(result: dict, fb: dict | None, ev: dict | None) -> None:
    sides = [(n, s) for n, s in (("fuseboard", fb), ("evidently", ev)) if s is not None]
    print(f"{result['rows']:,} rows x {result['features']} features (reference and current)\n")
    print(f"{'':<28}" + "".join(f"{n:>16}" for n, _ in sides))
    print(f"{'seconds, files -> verdict':<28}" + "".join(f"{s['seconds']:>16.2f}" for _, s in sides))
    print(f"{'peak MB (VmHWM)':<28}" + "".join(f"{s['peak_mb']:>16.0f}" for _, s in sides))
    print(f"{'  peak MB after imports':<28}" + "".join(f"{s['rss_after_imports_mb']:>16.0f}" for _, s in sides))
    print(f"{'imports, seconds (apart)':<28}" + "".join(f"{s['stages']['imports']:>16.2f}" for _, s in sides))
    print(f"{'dataset drift':<28}" + "".join(f"{str(s['dataset_drift']):>16}" for _, s in sides))
    print(f"{'drifted columns':<28}" + "".join(f"{len(drifted(s)):>16}" for _, s in sides))
    for n, s in sides:
        print(f"  {n}: {', '.join(drifted(s)) or '-'}")
        print("    stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in s["stages"].items() if k != "imports"))
    print(f"  expected:  {', '.join(EXPECTED)}")
    if fb and ev:
        print(f"\nspeedup (evidently s / fuseboard s): {result['speedup']:.1f}x   (goal >= {GOAL_SPEEDUP:.0f}x)")
        print(f"memory (fuseboard MB / evidently MB): {result['memory_ratio']:.2f}   (goal <= {GOAL_MEMORY})")
        print(f"same drifted columns: {result['same_drifted']}"
              + (f"   disagree on: {', '.join(result['disagreements'])}" if result["disagreements"] else ""))
        print(f"both match the expected set: {drifted(fb) == EXPECTED and drifted(ev) == EXPECTED}")
        print("\nper-column scores (fuseboard PSI >= 0.1; evidently normed Wasserstein / Jensen-Shannon >= 0.1):")
        for c in [*NUMERIC, *CATEGORICAL]:
            f, e = fb["columns"].get(c), ev["columns"].get(c)
            mark = "" if (f and e and f["drifted"] == e["drifted"]) else "   <-- disagree"
            print(f"  {c:<4} fuseboard {f['score'] if f else float('nan'):>9.4f} {'D' if f and f['drifted'] else '.'}"
                  f"   evidently {e['score'] if e else float('nan'):>9.4f} {'D' if e and e['drifted'] else '.'}"
                  f"{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evidently-python", default=os.environ.get("EVIDENTLY_PYTHON"),
                        help="python of the environment with evidently 0.7 and pandas < 3 (or $EVIDENTLY_PYTHON)")
    parser.add_argument("--out", type=Path, help="where the two Parquet files go (default: a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="use the files already in --out instead of writing them")
    parser.add_argument("--only", choices=("fuseboard", "evidently"), help="run one side only")
    parser.add_argument("--json", help="also write the figures as JSON to this path ('-' for stdout)")
    parser.add_argument("--strict", action="store_true", help="exit 2 when the issue's goals are missed")
    parser.add_argument("--child", choices=("generate", "fuseboard", "evidently"), help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--current", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "generate":
        write_data(args.out, args.rows, args.seed)
        return
    if args.child:
        run = child_fuseboard if args.child == "fuseboard" else child_evidently
        print(json.dumps(run(args.reference, args.current)))
        return
    if args.only != "fuseboard" and not args.evidently_python:
        parser.error("--evidently-python (or $EVIDENTLY_PYTHON) is needed: Evidently runs in its own environment")

    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="fuseboard-drift-bench-")
        out = Path(tmp.name)
    else:
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
    try:
        reference, current = out / "reference.parquet", out / "current.parquet"
        if not (args.reuse and reference.exists() and current.exists()):
            # in a child too: the children's peak memory must not start from the parent's
            start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--child", "generate", "--out", str(out), "--rows",
                            str(args.rows), "--seed", str(args.seed)], check=True)
            print(f"wrote {reference} and {current} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        fb = run_child(sys.executable, "fuseboard", reference, current) if args.only != "evidently" else None
        ev = run_child(args.evidently_python, "evidently", reference, current) if args.only != "fuseboard" else None
    finally:
        if tmp is not None:
            tmp.cleanup()

    result = summarise((fb or ev)["rows"], fb, ev)
    print_table(result, fb, ev)
    if args.json:
        text = json.dumps(result, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text)
    if fb and ev and not result["same_drifted"]:
        sys.exit(1)
    if args.strict and fb and ev and not result["goals_met"]:
        sys.exit(2)


if __name__ == "__main__":
    main()
