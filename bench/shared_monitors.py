"""Monitors that share the work: one cycle of each kind over every deployment, by one monitor process
holding all 64 shards and by three holding a third each at the same time, on PostgreSQL.

    python bench/shared_monitors.py [--models 334] [--runs 3] [--json out.json]

Builds bench/cycle.py's workspace (MODELS x 3 deployments, an hour of real 25-feature windows each,
endpoints on a local HTTP server in its own process), copies it into a throw-away PostgreSQL cluster
(Debian's server, started on a loopback port and removed afterwards), then, for each kind of check,
times:

* ``one``: one process claims every shard and runs the cycle over them (``run_cycle`` with a claim,
  as ``fuseboard monitor`` runs it: results, alerts and shard stamps written), after one cycle of
  that kind that is not counted (the alerts it opens are then open, as in a running monitor);
* ``three``: three processes each claim a third of the shards (their leases), wait at a common
  start, and run their part at once; the time is the slowest one's.

The machine's cores bound what three processes can gain (this one has 2, and the database server
shares them); on three hosts each monitor has its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

KINDS = ("health", "drift", "performance")


def start_postgres(tmp: Path, port: int) -> tuple[str, callable]:
    """A throw-away PostgreSQL cluster on 127.0.0.1:PORT (durability off); returns its URL and a stop()."""
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bindirs:
        sys.exit("bench/shared_monitors.py: needs Debian's postgresql package (apt-get install postgresql)")
    bindir = bindirs[-1]
    data = tmp / "pg"
    data.mkdir()
    run_as: list[str] = []
    if os.getuid() == 0:  # the server refuses to run as root
        shutil.chown(data, "postgres")
        shutil.chown(tmp, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"), "-o",
                    f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                    "-c max_connections=100", "start"], check=True, stdout=subprocess.DEVNULL)

    def stop() -> None:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop


def worker(url: str, kind: str, part: int, parts: int) -> None:
    """One monitor's part: claim its shards, warm up, say ready, wait for the go, run the cycle; print the seconds."""
    from fuseboard.monitoring import leases, scheduler
    from fuseboard.monitoring.shards import SHARDS
    from fuseboard.store.db import database_now, open_workspace

    ws = open_workspace(url)
    holder = f"bench-{part}"
    ttl = timedelta(minutes=10)
    mine = set(range(part, SHARDS, parts))
    with ws.engine.begin() as conn:  # take exactly this part's shards (whoever held them before)
        from sqlalchemy import update

        from fuseboard.store.models import Lease
        leases._ensure_shard_rows(ws)
        now = database_now(conn)
        conn.execute(update(Lease).where(Lease.name.in_([leases.shard_name(k) for k in mine]))
                     .values(holder=holder, expires_at=now + ttl, acquired_at=now))
    with ws.engine.connect() as conn:
        at = database_now(conn)
    claim = scheduler.ShardClaim(holder, frozenset(mine), ttl, at)
    # warm, as a monitor that has been running is: its first cycle imports the statistics' modules
    scheduler.run_cycle(ws, kind, claim=scheduler.ShardClaim(holder, frozenset([min(mine)]), ttl, at))
    print("ready", flush=True)
    sys.stdin.readline()  # the go: every part starts at once
    began = time.perf_counter()
    cpu = time.process_time()
    summary = scheduler.run_cycle(ws, kind, claim=claim)
    print(json.dumps({"seconds": time.perf_counter() - began, "cpu": time.process_time() - cpu,
                      "deployments": summary.deployments}), flush=True)


def timed(url: str, kind: str, parts: int) -> dict[str, float]:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, kind, str(p), str(parts)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for p in range(parts)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return {"seconds": max(o["seconds"] for o in outs), "cpu": sum(o["cpu"] for o in outs),
            "deployments": sum(o["deployments"] for o in outs)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, kind, part, parts = sys.argv[2:6]
        worker(url, kind, int(part), int(parts))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=334)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=55590)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from make_workspace import report

    from fuseboard.ops.workspace import copy_workspace
    from fuseboard.store.db import open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-bench-shared-"))
    pg_url, stop = start_postgres(tmp, args.port)
    server = None
    try:
        began = time.perf_counter()
        from cycle import build_with_traffic

        lite_url, server, _, _ = build_with_traffic(tmp, args.models)
        copy_workspace(open_workspace(lite_url), open_workspace(pg_url), force=True)
        result: dict[str, float] = {"workspace_ready_s": time.perf_counter() - began}
        for kind in KINDS:
            timed(pg_url, kind, 1)  # not counted: the alerts this kind opens are then open (steady state)
            one, three = [], []
            for _ in range(args.runs):  # side by side: one, then three, each run
                one.append(timed(pg_url, kind, 1))
                three.append(timed(pg_url, kind, 3))
            result["deployments"] = one[0]["deployments"]
            result[f"{kind}_one_monitor_s"] = statistics.median(r["seconds"] for r in one)
            result[f"{kind}_three_monitors_s"] = statistics.median(r["seconds"] for r in three)
            result[f"{kind}_speedup"] = result[f"{kind}_one_monitor_s"] / result[f"{kind}_three_monitors_s"]
            result[f"{kind}_one_cpu_s"] = statistics.median(r["cpu"] for r in one)
            result[f"{kind}_three_cpu_s"] = statistics.median(r["cpu"] for r in three)
            assert all(r["deployments"] == result["deployments"] for r in one + three)
        result["cores"] = os.cpu_count() or 0
        report(result, args.json)
    finally:
        if server is not None:
            server.terminate()
        stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
