"""Ingest of a partitioned Parquet dataset on a Dask LocalCluster of two workers, against one process.

    python bench/cluster_ingest.py [--rows 20000000] [--files 20] [--runs 1] [--json FILE]

Builds bench/ingest.py's workspace (one classifier of 25 features, 20 numeric and 5 categorical, with
CBPE and the PCA), writes ROWS inference rows as FILES Parquet files (file i holds hour i: 12
windows), then, side by side in one run, each arm in a fresh process on a fresh copy of the
workspace:

* ``single``: the files ingested one after another in one process (``ingest_file``, as a loop of
  ``fuseboard ingest`` would, without the process starts);
* ``cluster``: ``ingest_dataset`` on a LocalCluster (two worker processes, one thread each), the
  cluster's start timed apart.

Peak memory: every ``SAMPLE`` seconds, the resident memory of the arm's process and all its descendants
(the nannies and workers) is summed (psutil); the peak of that sum (never below the sum of the
peaks of the client and the workers, which is an upper bound), the client's own peak and each
worker's (``VmHWM``) are reported. Both arms must leave the same windows (rows per window compared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SAMPLE = 0.05


def write_dataset(tmp: Path, rows: int, files: int) -> tuple[str, Path]:
    """The workspace (bench/ingest.py's ``setup``) and the dataset, file by file (never all rows at once)."""
    import joblib
    import numpy as np
    from ingest import make_data, setup

    url, _ = setup(tmp, 1_000)
    model = joblib.load(tmp / "m.joblib")
    root = tmp / "dataset"
    root.mkdir()
    per = rows // files
    for i in range(files):
        n = per if i < files - 1 else rows - per * (files - 1)
        current = make_data(n, seed=100 + i)
        scores = model.predict_proba(current.drop(columns="y"))[:, 1]
        current["prediction"] = (scores >= 0.5).astype(int)
        current["score"] = scores
        current["label"] = current.pop("y")
        current["timestamp"] = np.datetime64("2026-11-29T00:00:00") + np.timedelta64(3600 * i, "s") + \
            (np.arange(n) * 3600 // n).astype("timedelta64[s]")
        current.to_parquet(root / f"part-{i:03d}.parquet", index=False)
    return url, root


class Peak:
    """The peak of the resident memory of this process and its descendants, summed, sampled in the background."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.me, *self.me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(SAMPLE)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def high_water() -> float:
    """This process's peak resident memory in MB (``VmHWM``: unlike ``ru_maxrss``, not inherited from the
    process that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def arm(kind: str, url: str, root: Path) -> dict:
    """One arm, in this (fresh) process."""
    from fuseboard.monitoring import ingest
    from fuseboard.store.db import open_workspace

    out: dict = {}
    peak = Peak()
    ws = open_workspace(url)
    if kind == "single":
        start = time.perf_counter()
        for path in sorted(root.glob("*.parquet")):
            ingest.ingest_file(ws, "bench", "prod", path)
        out["ingest_s"] = time.perf_counter() - start
    else:
        import distributed

        from fuseboard.monitoring.ingest.cluster import ingest_dataset

        start = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=":0", worker_dashboard_address=":0",
                                           silence_logs=40)
        client = distributed.Client(cluster, set_as_default=False)
        out["cluster_start_s"] = time.perf_counter() - start
        start = time.perf_counter()
        ingest_dataset(ws, "bench", "prod", str(root), client=client)
        out["ingest_s"] = time.perf_counter() - start
        out["peak_rss_workers_mb"] = sorted(client.run(high_water).values())
        client.close()
        cluster.close()
    out["peak_rss_client_mb"] = high_water()
    # the sampled sum can miss a short peak of the client's own: never below the client's peak
    out["peak_rss_all_mb"] = max(peak.stop() / 2**20, out["peak_rss_client_mb"] + sum(out.get("peak_rss_workers_mb", [])))
    from sqlmodel import select

    from fuseboard.store.models import WindowProfile

    with ws.session() as s:
        out["windows"] = sorted((w.window_start.isoformat(), w.rows) for w in s.exec(select(WindowProfile)).all())
    ws.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--arm", choices=["single", "cluster"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:  # one arm, in a fresh process
        print(json.dumps(arm(args.arm, args.url, args.root)))
        return
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        start = time.perf_counter()
        url, root = write_dataset(tmp, args.rows, args.files)
        size = sum(p.stat().st_size for p in root.glob("*.parquet"))
        print(f"dataset: {args.rows:,} rows in {args.files} files, {size / 2**20:,.0f} MB, written in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        master = Path(url.removeprefix("sqlite:///"))
        results: dict[str, list[dict]] = {"single": [], "cluster": []}
        for run in range(args.runs):
            for kind in ("single", "cluster"):
                db = tmp / f"{kind}-{run}.db"
                shutil.copy(master, db)
                done = subprocess.run([sys.executable, __file__, "--arm", kind, "--url", f"sqlite:///{db}", "--root",
                                       str(root)], capture_output=True, text=True, env=os.environ.copy())
                if done.returncode:
                    sys.exit(f"{kind} failed:\n{done.stderr[-3000:]}")
                found = json.loads(done.stdout.strip().splitlines()[-1])
                results[kind].append(found)
                print(f"run {run + 1} {kind:>7}: {found['ingest_s']:6.1f} s"
                      + (f" (+ {found['cluster_start_s']:.1f} s to start the cluster)" if kind == "cluster" else "")
                      + f", peak memory {found['peak_rss_all_mb']:,.0f} MB (client {found['peak_rss_client_mb']:,.0f}"
                      f" MB" + (f", workers {' and '.join(f'{w:,.0f}' for w in found['peak_rss_workers_mb'])} MB"
                                if kind == "cluster" else "") + ")", flush=True)
        same = all(r["windows"] == results["single"][0]["windows"] for rs in results.values() for r in rs)
        print(f"same windows and rows per window in every run: {same}")
        summary = {kind: [{k: v for k, v in r.items() if k != "windows"} for r in rs] for kind, rs in results.items()}
        summary.update(rows=args.rows, files=args.files, dataset_mb=size / 2**20, same_windows=same,
                       windows=len(results["single"][0]["windows"]))
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
