"""A large workspace, generated, then measured: console, monitor cycles, database growth.

    python bench/scale.py [--models 10000] [--days 30] [--history 3]
    python bench/scale.py --cycles-only --keep /tmp/scale.db     (generate, time the cycles, keep it)
    python bench/scale.py --reuse /tmp/scale.db                  (time the cycles on a kept workspace)

Generates MODELS models x 3 environments (bench/make_workspace.py), each deployment with the
last hour of five-minute window profiles (copied from one real ingest of 25 features with
labels: what the checks read) and an endpoint on a local HTTP server in its own process; and
HISTORY deployments with DAYS days of five-minute windows, compacted afterwards with the default
retention, for the growth per day. (Thirty days of five-minute windows for every one of 30,000
deployments would be 259 million rows, terabytes: the growth is measured on a few and
multiplied, which is exact since every deployment-day adds the same windows.)

Then measures, on that workspace:

* the console (80x24, headless): time until the Models, Environments and Monitoring screens
  are loaded, processor time per filter keystroke, paging down through the list and jumping
  to the end;
* one monitor cycle of each kind over every deployment (health probes, drift, performance),
  as ``fuseboard monitor`` runs them, results and alerts recorded;
* the database size, and its growth per day for all deployments, raw and with retention.

``--cycles-only`` stops after the cycles (no growth, no console). ``--reuse PATH`` skips the
generation and times the cycles on a workspace kept with ``--keep`` (its endpoints pointed at a
new local server; checked as of just after its last window, so the same windows are read however
long ago it was generated; the cycles before have already recorded their results and alerts:
copy the kept file first to time a first cycle again).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def file_size(url: str) -> int:
    """Bytes the database's pages hold (free pages left by deleted rows not counted: what VACUUM keeps)."""
    from fuseboard.store.db import open_workspace

    ws = open_workspace(url)
    with ws.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (c.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                             ("page_count", "freelist_count", "page_size"))
    ws.close()
    return (pages - free) * size


async def console(url: str, query: str) -> dict[str, float]:
    """Screens loaded, filter keystrokes, paging: the console on the generated workspace."""
    from fuseboard.config import Config
    from fuseboard.tui.app import FuseboardApp
    from fuseboard.tui.widgets.table import VirtualTable

    app = FuseboardApp(url, Config(path=Path(tempfile.mkdtemp()) / "c.toml"), workspace_label="scale")
    out: dict[str, float] = {}

    async def loaded() -> float:
        start = time.perf_counter()
        while not getattr(app.screen, "loaded", False):
            await asyncio.sleep(0.01)
        return time.perf_counter() - start

    async with app.run_test(size=(80, 24)) as pilot:
        out["models_screen_loaded_s"] = await loaded()
        table = app.screen.query_one(VirtualTable)
        out["models_rows"] = table.row_count
        cpu = []
        await pilot.press("slash")
        for name in [*query, *["backspace"] * len(query)]:
            start = time.process_time()
            await pilot.press(name)
            await pilot.pause()
            cpu.append(time.process_time() - start)
        await pilot.press("enter")
        out["filter_key_cpu_median_ms"] = 1000 * statistics.median(cpu)
        out["filter_key_cpu_max_ms"] = 1000 * max(cpu)
        pages = []
        for _ in range(20):
            start = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            pages.append(time.perf_counter() - start)
        out["page_down_median_ms"] = 1000 * statistics.median(pages)
        start = time.perf_counter()
        await pilot.press("G")
        await pilot.pause()
        out["jump_to_end_ms"] = 1000 * (time.perf_counter() - start)
        for key, name in (("2", "environments"), ("3", "monitoring")):
            start = time.perf_counter()
            await pilot.press(key)
            while not getattr(app.screen, "loaded", False):
                await asyncio.sleep(0.01)
            out[f"{name}_screen_loaded_s"] = time.perf_counter() - start
        out["monitoring_rows"] = app.screen.query_one(VirtualTable).row_count
    return out


def cycles(ws, now=None) -> dict[str, float | str]:  # noqa: ANN001
    """One monitor cycle of each kind over every deployment, as ``fuseboard monitor`` runs them
    (at ``now``, or the time it is)."""
    from fuseboard.monitoring import scheduler

    out: dict[str, float | str] = {}
    for kind in ("health", "drift", "performance"):
        start = time.perf_counter()
        summary = scheduler.run_cycle(ws, kind, now=now)
        out[f"{kind}_cycle_s"] = time.perf_counter() - start
        out[f"{kind}_worst"] = summary.worst
    return out


def cycles_on(path: Path, json_path: Path | None) -> None:
    """The monitor cycles on a workspace kept with ``--keep``, its endpoints on a new local server."""
    from sqlalchemy import func, update
    from sqlmodel import select

    from make_workspace import report

    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import Deployment, WindowProfile

    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "cycle.py"), "--serve"],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    ws = open_workspace(f"sqlite:///{path}")
    with ws.transaction() as s:
        s.execute(update(Deployment).values(endpoint_url=f"http://127.0.0.1:{port}"))
    with ws.session() as s:
        result: dict[str, float | int | str] = {
            "deployments": s.exec(select(func.count()).select_from(Deployment)).one(),
            "recent_windows": s.exec(select(func.count()).select_from(WindowProfile)).one()}
        last = s.exec(select(func.max(WindowProfile.window_start))).one()
    now = (last if last.tzinfo else last.replace(tzinfo=timezone.utc)) + timedelta(seconds=1)
    try:
        result.update(cycles(ws, now))
    finally:
        server.terminate()
        ws.close()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(result, json_path, digits=2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--history", type=int, default=3, help="deployments given DAYS days of windows")
    parser.add_argument("--query", default="model-0123")
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    parser.add_argument("--cycles-only", action="store_true", help="stop after the monitor cycles")
    parser.add_argument("--reuse", type=Path, help="time the cycles on a workspace kept with --keep")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.reuse:
        cycles_on(args.reuse, args.json)
        return
    from sqlalchemy import insert
    from sqlmodel import select

    import ingest as ingest_bench
    from make_workspace import build, like_real_model, report, window_rows

    from fuseboard.monitoring import ingest, retention
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import ModelVersion, WindowProfile, utcnow

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-scale-"))
    result: dict[str, float | int | str] = {"models": args.models, "deployments": 3 * args.models}
    began = time.perf_counter()
    real_url, path = ingest_bench.setup(tmp, 60_000)  # one real model's hour of windows, to copy
    real = open_workspace(real_url)
    ingest.ingest_file(real, "bench", "prod", path)
    with real.session() as s:
        template = s.exec(select(WindowProfile).order_by(WindowProfile.window_start)).all()
        reference = s.exec(select(ModelVersion)).first()
    target = args.keep or tmp / "scale.db"
    url = build(target, args.models)
    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "cycle.py"), "--serve"],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    ws = open_workspace(url)
    now = utcnow()
    hour_ago = now - timedelta(minutes=55)
    deployments = like_real_model(ws, reference, f"http://127.0.0.1:{port}")
    windows = 0
    for lo in range(0, len(deployments), 1_000):  # the last hour of every deployment, in batches
        with ws.transaction() as s:
            rows = window_rows(deployments[lo:lo + 1_000], template, hour_ago, now)
            s.execute(insert(WindowProfile), rows)
            windows += len(rows)
    result["recent_windows"] = windows
    result["generated_s"] = time.perf_counter() - began
    result.update(cycles(ws))
    server.terminate()
    if args.cycles_only:
        ws.close()
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report(result, args.json, digits=2)
        return
    size_recent = file_size(url)  # (after the cycles: their results are not history)
    # DAYS days of five-minute windows for a few deployments (before the last hour), for the growth
    per_day = 24 * 12
    history = deployments[:args.history]
    for d in history:
        for day in range(args.days):
            with ws.transaction() as s:
                start = hour_ago - timedelta(days=args.days - day)
                s.execute(insert(WindowProfile), window_rows([d], template * (per_day // len(template)), start, now))
    size_history = file_size(url)
    deployment_days = max(1, len(history) * args.days)
    raw_per_deployment_day = (size_history - size_recent) / deployment_days
    result["database_mb"] = size_history / 1e6

    start = time.perf_counter()
    compacted = retention.compact(ws, now=now)
    result["compact_s"] = time.perf_counter() - start
    result["compacted_windows"] = compacted["merged"]
    size_compacted = file_size(url)
    kept_per_deployment = (size_compacted - size_recent) / max(1, len(history))  # DAYS days, after retention
    n = len(deployments)
    result["growth_per_day_all_deployments_raw_mb"] = raw_per_deployment_day * n / 1e6
    result["history_per_deployment_after_retention_mb"] = kept_per_deployment / 1e6
    result["all_deployments_after_retention_gb"] = kept_per_deployment * n / 1e9
    ws.close()

    result.update(asyncio.run(console(url, args.query)))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(result, args.json, digits=2)


if __name__ == "__main__":
    main()
