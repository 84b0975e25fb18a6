"""How fast `fuseboard report` reads 90 days of five-minute windows, and `check --at` beside `check`.

    python bench/report.py [--days 90] [--rows 40] [--runs 5] [--workspace FOLDER] [--json out.json]

Builds the demo (5 models) in a temporary folder (or reuses one built before by this script with
--workspace) and backfills credit-risk in prod (8 features: 5 numeric, 3 categorical; a binary
classifier with scores and labels) with DAYS days of five-minute windows ending now, ROWS rows a
window, through `fuseboard ingest`'s own path with timestamps: 90 days are 25,920 windows.
Then times, RUNS times each, alternating so the machine's noise hits them alike:

* ``report --every 1d`` over the whole range in process (``monitoring.replay.replay``); wall time and
  this process's CPU time;
* the same as a command, as a shell sees it (process start to exit, ``--json`` read), beside
  ``fuseboard --help`` (the floor: Python, click and the command table);
* where the time goes in one process: reading the windows, decoding their JSON, merging them per
  day, and the generic merge (``performance.merge`` two windows at a time) against the summed one;
* ``check`` (``run_checks``, no probes) beside ``check --at`` the last window's end, in process and
  as commands.

Medians are printed (and written as JSON with --json). Config and data folders are temporary.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

MARK = "bench-report.json"  # what a workspace folder built here holds: its range


def build(folder: Path, days: int, rows: int) -> dict:
    """The demo plus ``days`` days of credit-risk traffic in prod, ``rows`` rows a five-minute window."""
    import joblib
    import numpy as np
    import pandas as pd

    from fuseboard.config import resource_dir
    from fuseboard.monitoring import ingest
    from fuseboard.ops.demo import build_demo
    from fuseboard.ops.registry import artifact_file
    from fuseboard.store import lookup
    from fuseboard.store.db import open_workspace

    if folder.exists():
        shutil.rmtree(folder)
    build_demo(folder)
    url = f"sqlite:///{folder / 'demo.db'}"
    ws = open_workspace(url)
    with ws.session() as s:
        mv = lookup.version(s, lookup.model(s, "credit-risk"), 2)
    model = joblib.load(artifact_file(ws, mv))
    names = [f["name"] for f in mv.feature_schema]
    frame = pd.read_csv(resource_dir("sample_data") / "credit_risk.csv")
    now = datetime.now(timezone.utc)
    end = now.replace(second=0, microsecond=0, minute=now.minute - now.minute % 5)
    start = end - timedelta(days=days)
    rng = np.random.default_rng(0)
    began = time.perf_counter()
    for day in range(days):
        n = 288 * rows
        batch = frame.sample(n, replace=True, random_state=day).reset_index(drop=True)
        labels = batch.pop("default").to_numpy()
        batch["score"] = model.predict_proba(batch[names])[:, 1]
        batch["prediction"] = (batch["score"] >= 0.5).astype(int)
        batch["label"] = labels
        batch["request_id"] = [f"d{day}-{i}" for i in range(n)]
        first = (start + timedelta(days=day)).timestamp()
        slot = np.repeat(np.arange(288), rows) * 300.0  # every five-minute window gets its rows, in time order
        batch["timestamp"] = first + np.sort(slot + rng.uniform(0, 299, n))
        ingest.ingest_table(ws, "credit-risk", "prod", ingest.as_table(batch), now=end)
    ws.close()
    info = {"url": url, "start": start.isoformat(), "end": end.isoformat(), "days": days, "rows": rows,
            "build_seconds": round(time.perf_counter() - began, 1)}
    (folder / MARK).write_text(json.dumps(info))
    return info


def timed(fn, runs: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    walls, cpus = [], []
    for _ in range(runs):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def command(args: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "fuseboard", *args], env=env, capture_output=True, text=True)
    took = time.perf_counter() - began
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rows", type=int, default=40, help="rows a five-minute window")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workspace", type=Path, help="a folder to build in, or reuse if built with the same sizes")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="fuseboard-bench-report-"))
    os.environ.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"), FUSEBOARD_USER="bench")
    folder = (args.workspace or home / "demo").resolve()
    marked = folder / MARK
    info = json.loads(marked.read_text()) if marked.exists() else None
    if info is None or (info["days"], info["rows"]) != (args.days, args.rows):
        print(f"building {args.days} days of five-minute windows, {args.rows} rows each, in {folder} ...", flush=True)
        info = build(folder, args.days, args.rows)
    from fuseboard.monitoring import checks, history, replay
    from fuseboard.ops.report import checks_at, report
    from fuseboard.store.db import open_workspace

    url, start, end = info["url"], datetime.fromisoformat(info["start"]), datetime.fromisoformat(info["end"])
    ws = open_workspace(url, read_only=True)
    with ws.session() as s:
        from sqlmodel import func, select

        from fuseboard.store.models import WindowProfile

        windows = s.exec(select(func.count()).select_from(WindowProfile)).one()
    size = os.path.getsize(folder / "demo.db") / 1e6
    print(f"{windows:,} windows of credit-risk in prod ({info['days']} days x 288, {info['rows']} rows each; "
          f"8 features), {size:.0f} MB database; built in {info['build_seconds']} s")
    day = timedelta(days=1)
    figures: dict[str, dict[str, float]] = {}

    def record(name: str, walls: list[float], cpus: list[float] | None = None) -> None:
        figures[name] = {"wall_median_s": round(statistics.median(walls), 3), "wall_best_s": round(min(walls), 3)}
        if cpus:
            figures[name]["cpu_median_s"] = round(statistics.median(cpus), 3)

    record("report --every 1d, in process", *timed(lambda: replay.replay(ws, "credit-risk", "prod", start, end, day),
                                                   args.runs))
    record("report --every 1w, in process", *timed(lambda: report(ws, "credit-risk", "prod", start, end,
                                                                  timedelta(weeks=1)), args.runs))
    record("report --every 1h, last 7 days, in process",
           *timed(lambda: report(ws, "credit-risk", "prod", end - 7 * day, end, timedelta(hours=1)), args.runs))

    # where the time goes, in one process
    stored = replay.load_windows(ws, 1, 3, start, end)
    record("  read the windows (packed blobs)", *timed(lambda: replay.load_windows(ws, 1, 3, start, end), args.runs))
    groups = history.group_by_period(stored.starts, history.periods(start, end, day))
    from fuseboard.store import window_codec

    columns = (stored.features, stored.predictions, stored.performance)
    record("  decompress every blob (no dict)",
           *timed(lambda: [[window_codec.body_of(b) for b in column] for column in columns], args.runs))
    jobs = list(enumerate(groups))
    record("  unpack and merge per day (merge_periods, as report does)",
           *timed(lambda: replay.merge_periods(stored, jobs, set(checks.WINDOW_CHECKS)), args.runs))

    def decode() -> list:
        gc.disable()
        try:
            return [[window_codec.decode(b) for b in column] for column in columns]
        finally:
            gc.enable()

    record("  decode every window to its dicts (the path of one window)", *timed(decode, args.runs))
    features, predictions, perfs = decode()
    gc.disable()
    record("  merge the decoded windows per day, as the checks do (merge_all)",
           *timed(lambda: [(history.generic_columns([features[i] for i in g]),
                            history.generic_columns([predictions[i] for i in g]),
                            history.generic_performance([perfs[i] for i in g])) for g in groups], args.runs))
    gc.enable()
    del features, predictions, perfs

    record("check, in process (no probes)", *timed(lambda: checks.run_checks(ws, probe_endpoints=False), args.runs))
    record("check --at the last window's end, in process", *timed(lambda: checks_at(ws, end), args.runs))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1] / "src"),
                                                                       os.environ.get("PYTHONPATH")]))}
    base = ["--db", url]
    cli = {"fuseboard --help": ["--help"],
           "report --every 1d --json, command": [*base, "report", "credit-risk", "--env", "prod", "--from",
                                                 start.isoformat(), "--to", end.isoformat(), "--json"],
           "check --no-probe --json, command": [*base, "check", "--no-probe", "--json"],
           "check --at END --json, command": [*base, "check", "--at", end.isoformat(), "--json"]}
    walls: dict[str, list[float]] = {name: [] for name in cli}
    for run in range(args.runs):
        names = list(cli)
        for name in names[run % len(names):] + names[:run % len(names)]:  # the starting one rotates
            walls[name].append(command(cli[name], env))
    for name, found in walls.items():
        record(name, found)

    width = max(map(len, figures))
    print(f"\n{'':<{width}}  wall (median, best)  cpu (median)")
    for name, f in figures.items():
        cpu = f"  {f['cpu_median_s']:.3f} s" if "cpu_median_s" in f else ""
        print(f"{name:<{width}}  {f['wall_median_s']:.3f} s, {f['wall_best_s']:.3f} s{cpu}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cores = len(os.sched_getaffinity(0))
    print(f"\nload average while measuring: {load:.2f} on {cores} cores" if load is not None else "")
    if args.json:
        args.json.write_text(json.dumps({"windows": windows, "days": info["days"], "rows_per_window": info["rows"],
                                         "features": 8, "load_average": load, "figures": figures}, indent=2))
    if args.workspace is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
