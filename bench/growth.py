"""Database growth per deployment and day, before and after retention compacts old windows.

    python bench/growth.py [--deployments 20] [--days 40]

Gives DEPLOYMENTS deployments DAYS days of five-minute window profiles (copied from one real
ingest of 25 features with labels), measures the SQLite file, compacts with the default
retention (hourly after 2 days, daily after 35), measures again, and extrapolates to a year.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def size(url: str) -> int:
    from fuseboard.store.db import open_workspace

    ws = open_workspace(url)
    with ws.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        c.exec_driver_sql("VACUUM")
    ws.close()
    return Path(url.removeprefix("sqlite:///")).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=20)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from sqlalchemy import insert
    from sqlmodel import select

    import ingest as ingest_bench
    from make_workspace import build, report

    from fuseboard.monitoring import ingest, retention
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import Deployment, ModelVersion, WindowProfile, utcnow

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-growth-"))
    real_url, path = ingest_bench.setup(tmp, 60_000)
    real = open_workspace(real_url)
    ingest.ingest_file(real, "bench", "prod", path)
    with real.session() as s:
        template = s.exec(select(WindowProfile)).first()
        reference = s.exec(select(ModelVersion)).first()
    models = max(1, args.deployments // 3)
    url = build(tmp / "growth.db", models)
    ws = open_workspace(url)
    with ws.transaction() as s:
        from sqlalchemy import update

        s.execute(update(ModelVersion).values(feature_schema=reference.feature_schema,
                                              reference_profile=reference.reference_profile))
        deployments = s.exec(select(Deployment)).all()
    empty = size(url)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=args.days)
    per_day = 288
    for day in range(args.days):
        rows = [{"model_id": d.model_id, "environment_id": d.environment_id, "version_id": d.version_id,
                 "window_start": start + timedelta(days=day, minutes=5 * i), "window_seconds": 300,
                 "rows": template.rows, "features": template.features, "predictions": template.predictions,
                 "performance": template.performance, "updated_at": now}
                for d in deployments for i in range(per_day)]
        with ws.transaction() as s:
            s.execute(insert(WindowProfile), rows)
    ws.close()
    full = size(url)
    began = time.perf_counter()
    counts = retention.compact(open_workspace(url), now=now)
    took = time.perf_counter() - began
    compacted = size(url)
    n = len(deployments)
    raw_day = (full - empty) / n / args.days
    kept = (compacted - empty) / n
    year_rows = 2 * 288 + 33 * 24 + (365 - 35)  # with the default retention
    per_row = (compacted - empty) / max(1, n * (2 * 288 + 33 * 24 + (args.days - 35)))
    result = {"deployments": n, "days": args.days, "features": 25,
              "five_minute_kb_per_deployment_day": raw_day / 1024,
              "after_retention_kb_per_deployment_over_the_days": kept / 1024,
              "windows_compacted": counts["merged"], "compaction_s": took,
              "year_mb_per_deployment_with_retention": per_row * year_rows / 1024 / 1024,
              "year_mb_per_deployment_without": raw_day * 365 / 1024 / 1024}
    report(result, args.json)


if __name__ == "__main__":
    main()
