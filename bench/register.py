"""Registration against ingest: a version registered with a ROWS-row reference, from CSV and from
Parquet, beside ``fuseboard ingest`` of ROWS inference rows of the same model, side by side in one run.

    python bench/register.py [--rows 1000000] [--runs 3]

The model and the rows are bench/ingest.py's (25 features, 20 numeric and 5 categorical; a logistic
regression in a pipeline). Each registration goes into a fresh workspace, with no validation file (so
the baseline is cross-validated on the reference, as a team without a hold-out would register) and
with one of 200,000 rows (``register_with_validation_*``). Prints the medians and the ratio to the
ingest (issue 19 asks for at most 2), and the same for the processor time of each (all of the process's
threads: on a machine other work shares, the wall times wander by a factor of two or three from
minute to minute, the processor times far less).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def timed_register(tmp: Path, artifact: Path, reference: Path, validation: Path | None, n: int
                   ) -> tuple[float, float]:
    from fuseboard.ops.registry import RegisterRequest, register
    from fuseboard.store.db import open_workspace

    ws = open_workspace(f"sqlite:///{tmp / f'reg-{n}.db'}")
    start, cpu = time.perf_counter(), time.process_time()
    register(ws, RegisterRequest(model="bench", artifact=artifact, reference=reference, target="y",
                                 validation=validation), actor="bench", origin="cli")
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    ws.close()
    return took, cpu


_INGEST_CPU: list[float] = []


def _count_ingest_cpu() -> None:
    """Record the processor time of each ``ingest_file`` call (what ``timed_ingest`` times)."""
    from fuseboard.monitoring import ingest

    real = ingest.ingest_file

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        cpu = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            _INGEST_CPU.append(time.process_time() - cpu)

    ingest.ingest_file = counted


def _run(tmp: Path, args: argparse.Namespace) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Write the files into ``tmp`` and time each of the four, ``args.runs`` times: wall and processor seconds."""
    from ingest import make_data, setup, timed_ingest

    url, rows_path = setup(tmp, args.rows)
    reference = make_data(args.rows, seed=4)
    reference.to_csv(tmp / "big.csv", index=False)
    reference.to_parquet(tmp / "big.parquet", index=False)
    make_data(200_000, seed=5).to_parquet(tmp / "val.parquet", index=False)
    del reference
    times: dict[str, list[float]] = {"ingest": [], "register_csv": [], "register_parquet": [],
                                     "register_with_validation_parquet": []}
    cpus: dict[str, list[float]] = {key: [] for key in times}
    n = 0
    for _ in range(args.runs):  # side by side: each run times all four, one after the other
        times["ingest"].append(timed_ingest(url, rows_path, True))
        cpus["ingest"].append(_INGEST_CPU.pop())
        for key, ref, val in (("register_csv", tmp / "big.csv", None), ("register_parquet", tmp / "big.parquet", None),
                              ("register_with_validation_parquet", tmp / "big.parquet", tmp / "val.parquet")):
            n += 1
            took, cpu = timed_register(tmp, tmp / "m.joblib", ref, val, n)
            times[key].append(took)
            cpus[key].append(cpu)
    return times, cpus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    _count_ingest_cpu()
    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-bench-register-"))
    try:  # the files take 750 MB: removed however the run ends
        times, cpus = _run(tmp, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'rows':>40}: {args.rows}")
    for label, found in (("s", times), ("cpu_s", cpus)):
        ingest = statistics.median(found["ingest"])
        for key, values in found.items():
            print(f"{key + '_median_' + label:>40}: {statistics.median(values):.2f}  "
                  f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
            if key != "ingest":
                print(f"{key + '_vs_ingest' + ('' if label == 's' else '_cpu'):>40}: "
                      f"{statistics.median(values) / ingest:.1f}x")


if __name__ == "__main__":
    main()
