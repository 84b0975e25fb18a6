"""Registration against ingest: a version registered with a ROWS-row reference, from CSV and from
Parquet, beside ``fuseboard ingest`` of ROWS inference rows of the same model, side by side in one run.

    python bench/register.py [--rows 1000000] [--runs 3]

The model and the rows are bench/ingest.py's (25 features, 20 numeric and 5 categorical; a logistic
regression in a pipeline). Each registration goes into a fresh workspace, with no validation file (so
the baseline is cross-validated on the reference, as a team without a hold-out would register) and
with one of 200,000 rows (``register_with_validation_*``). Prints the medians and the ratio to the
ingest (issue 19 asks for at most 2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def timed_register(tmp: Path, artifact: Path, reference: Path, validation: Path | None, n: int) -> float:
    from fuseboard.ops.registry import RegisterRequest, register
    from fuseboard.store.db import open_workspace

    ws = open_workspace(f"sqlite:///{tmp / f'reg-{n}.db'}")
    start = time.perf_counter()
    register(ws, RegisterRequest(model="bench", artifact=artifact, reference=reference, target="y",
                                 validation=validation), actor="bench", origin="cli")
    took = time.perf_counter() - start
    ws.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from ingest import make_data, setup, timed_ingest

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-bench-register-"))
    url, rows_path = setup(tmp, args.rows)
    reference = make_data(args.rows, seed=4)
    reference.to_csv(tmp / "big.csv", index=False)
    reference.to_parquet(tmp / "big.parquet", index=False)
    make_data(200_000, seed=5).to_parquet(tmp / "val.parquet", index=False)
    del reference
    times: dict[str, list[float]] = {"ingest": [], "register_csv": [], "register_parquet": [],
                                     "register_with_validation_parquet": []}
    n = 0
    for _ in range(args.runs):  # side by side: each run times all four, one after the other
        times["ingest"].append(timed_ingest(url, rows_path, True))
        for key, ref, val in (("register_csv", tmp / "big.csv", None), ("register_parquet", tmp / "big.parquet", None),
                              ("register_with_validation_parquet", tmp / "big.parquet", tmp / "val.parquet")):
            n += 1
            times[key].append(timed_register(tmp, tmp / "m.joblib", ref, val, n))
    ingest = statistics.median(times["ingest"])
    print(f"{'rows':>40}: {args.rows}")
    for key, values in times.items():
        print(f"{key + '_median_s':>40}: {statistics.median(values):.2f}  (runs: {', '.join(f'{v:.2f}' for v in values)})")
        if key != "ingest":
            print(f"{key + '_vs_ingest':>40}: {statistics.median(values) / ingest:.1f}x")


if __name__ == "__main__":
    main()
