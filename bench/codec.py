"""Compact window profiles against the JSON they replaced: size, encode, decode and a day's merge.

    python bench/codec.py [--rows 40,500,2000,5000] [--runs 5] [--json out.json]

For each window size, ingests an hour of `bench/ingest.py`'s 25-feature classifier (20 numeric and
5 categorical features, prediction, score, label; the window of `bench/growth.py`) with that many
rows a five-minute window, and takes its 12 stored windows. Side by side, in one process, medians
of RUNS:

* size: the three profiles of a window as JSON (orjson, compact: what was stored before) and as
  compact blobs (store/window_codec.py), and the ratio;
* encode: ``orjson.dumps`` against ``window_codec.encode``;
* decode of one window to its dicts: ``orjson.loads`` against ``window_codec.decode``;
* a day's merge (288 windows: the 12 repeated), as the checks and `report` merge them: decoding the
  JSON and merging with ``window_merge.merge_all`` / ``performance.merge`` against
  ``packed_merge.merge_blobs`` straight from the blobs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def timed(fn, runs: int, per: int = 1) -> float:  # noqa: ANN001
    """Median seconds of ``fn`` over ``runs`` runs, divided by ``per``."""
    walls = []
    for _ in range(runs):
        gc.collect()
        began = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - began)
    return statistics.median(walls) / per


def measure(rows: int, runs: int) -> dict[str, float]:
    import orjson
    from sqlalchemy import LargeBinary, type_coerce
    from sqlmodel import select

    import ingest as ingest_bench

    from fuseboard.monitoring import ingest
    from fuseboard.monitoring.history import generic_columns, generic_performance
    from fuseboard.monitoring.packed_merge import merge_blobs
    from fuseboard.store import window_codec
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import WindowProfile

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-codec-"))
    url, path = ingest_bench.setup(tmp, 12 * rows)
    ws = open_workspace(url)
    ingest.ingest_file(ws, "bench", "prod", path)
    names = ("features", "predictions", "performance")
    with ws.session() as s:
        stored = s.execute(select(*(type_coerce(getattr(WindowProfile, c), LargeBinary) for c in names))
                           .order_by(WindowProfile.window_start)).all()
    ws.close()
    blobs = [list(row) for row in stored]
    profiles = [[window_codec.decode(b) for b in row] for row in blobs]
    texts = [[orjson.dumps(p) for p in row] for row in profiles]
    n = len(blobs)
    out = {"rows_a_window": rows, "windows": n,
           "json_bytes": sum(map(len, (t for row in texts for t in row))) / n,
           "packed_bytes": sum(map(len, (b for row in blobs for b in row))) / n}
    out["smaller"] = out["json_bytes"] / out["packed_bytes"]
    flat_profiles = [p for row in profiles for p in row]
    flat_texts = [t for row in texts for t in row]
    flat_blobs = [b for row in blobs for b in row]
    out["encode_json_us"] = timed(lambda: [orjson.dumps(p) for p in flat_profiles], runs, n) * 1e6
    out["encode_packed_us"] = timed(lambda: [window_codec.encode(p) for p in flat_profiles], runs, n) * 1e6
    out["decode_json_us"] = timed(lambda: [orjson.loads(t) for t in flat_texts], runs, n) * 1e6
    out["decode_packed_us"] = timed(lambda: [window_codec.decode(b) for b in flat_blobs], runs, n) * 1e6
    day = (blobs * 24)[:288]
    day_texts = (texts * 24)[:288]

    def json_day() -> None:
        gc.disable()
        try:
            generic_columns([orjson.loads(t[0]) for t in day_texts])
            generic_columns([orjson.loads(t[1]) for t in day_texts])
            generic_performance([orjson.loads(t[2]) for t in day_texts])
        finally:
            gc.enable()

    def packed_day() -> None:
        merge_blobs([b[0] for b in day], generic_columns)
        merge_blobs([b[1] for b in day], generic_columns)
        merge_blobs([b[2] for b in day], generic_performance)

    out["day_merge_json_ms"] = timed(json_day, runs) * 1e3
    out["day_merge_packed_ms"] = timed(packed_day, runs) * 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="40,500,2000,5000", help="rows a five-minute window, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    found = [measure(int(r), args.runs) for r in args.rows.split(",")]
    print(f"{'rows':>6} {'JSON B':>8} {'packed B':>9} {'smaller':>8} {'enc JSON':>9} {'enc packed':>11} "
          f"{'dec JSON':>9} {'dec packed':>11} {'day JSON':>9} {'day packed':>11}")
    for f in found:
        print(f"{f['rows_a_window']:>6} {f['json_bytes']:>8,.0f} {f['packed_bytes']:>9,.0f} {f['smaller']:>7.1f}x "
              f"{f['encode_json_us']:>7.0f}us {f['encode_packed_us']:>9.0f}us {f['decode_json_us']:>7.0f}us "
              f"{f['decode_packed_us']:>9.0f}us {f['day_merge_json_ms']:>7.1f}ms {f['day_merge_packed_ms']:>9.1f}ms")
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
