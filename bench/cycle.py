"""One monitor cycle over many deployments: probes against a local endpoint, drift, performance.

    python bench/cycle.py [--models 334] [--repeat 2]   (x 3 environments = about 1,000 deployments)

Builds a workspace with bench/make_workspace.py, gives every deployment an hour of
five-minute window profiles (copied from one real ingest of 25 features) and an
endpoint on a local HTTP server, then times one cycle of each kind as the monitor
runs it (results and alerts recorded). ``--repeat 2`` times each kind again after the first
round: the steady state of a running monitor (its alerts already open, its reference profiles
decoded), where the first drift cycle also opens an alert for every drifted deployment.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({"status": "ok", "version": 2}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a real server's backlog; the default 5 drops SYNs under 32 probes in flight
    daemon_threads = True


def serve() -> None:
    server = Server(("127.0.0.1", 0), Health)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def build_with_traffic(tmp: Path, models: int) -> tuple[str, subprocess.Popen, int, int]:
    """MODELS x 3 deployments, each with an hour of windows copied from one real ingest of 25 features
    with labels, and an endpoint on a local HTTP server in its own process (left running: terminate it).
    Returns the workspace's URL, the server, the deployments and the windows."""
    from datetime import timedelta

    from sqlalchemy import insert
    from sqlmodel import select

    import ingest as ingest_bench
    from make_workspace import build, like_real_model, window_rows

    from fuseboard.monitoring import ingest
    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import ModelVersion, WindowProfile, utcnow

    # one real model's windows, to copy: 25 features, an hour of traffic with labels
    real_url, path = ingest_bench.setup(tmp, 60_000)
    real = open_workspace(real_url)
    ingest.ingest_file(real, "bench", "prod", path)
    with real.session() as s:
        template = s.exec(select(WindowProfile).order_by(WindowProfile.window_start)).all()
        reference = s.exec(select(ModelVersion)).first()
    url = build(tmp / "many.db", models)
    # the endpoints live in their own process, as real ones do (not competing for this one's GIL)
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    ws = open_workspace(url)
    now = utcnow()
    deployments = like_real_model(ws, reference, f"http://127.0.0.1:{port}")
    rows = window_rows(deployments, template, now - timedelta(minutes=55), now)
    with ws.transaction() as s:
        s.execute(insert(WindowProfile), rows)
    ws.close()
    return url, server, len(deployments), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=334)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three cycles (2: the steady state too)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    from make_workspace import report

    from fuseboard.monitoring import scheduler
    from fuseboard.store.db import open_workspace

    tmp = Path(tempfile.mkdtemp(prefix="fuseboard-bench-"))
    url, server, deployments, windows = build_with_traffic(tmp, args.models)
    ws = open_workspace(url)
    result = {"deployments": deployments, "windows": windows}
    for round_ in range(args.repeat):
        for kind in ("health", "drift", "performance"):
            began = time.perf_counter()
            summary = scheduler.run_cycle(ws, kind)
            name = kind if round_ == 0 else f"{kind}_again{'' if round_ == 1 else round_}"
            result[f"{name}_cycle_s"] = time.perf_counter() - began
            result[f"{name}_worst"] = summary.worst
    server.terminate()
    report(result, args.json)


if __name__ == "__main__":
    main()
