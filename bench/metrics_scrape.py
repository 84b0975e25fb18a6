"""One Prometheus scrape of a large workspace: fuseboard's metrics over HTTP, and their parts.

    python bench/metrics_scrape.py [--models 3334] [--windows 12] [--runs 7] [--keep DIR]   (x 3 environments)

Builds a workspace with bench/make_workspace.py (3,334 models x 3 environments: 10,002
deployments), gives every deployment WINDOWS five-minute window profiles (copied from one real
ingest of 25 features with labels, as bench/cycle.py does: what ``fuseboard_ingested_rows_total``
sums) and a stored state for every check, with the details a real check run wrote (the drift
check's 25 features, the performance check's metrics, a health check with a full probe history
of 120 samples; values differing from one deployment to the next), and opens an alert on one
deployment in fifty. Then prints the median of RUNS scrapes over HTTP from ``exporter.serve`` (what
Prometheus gets from ``fuseboard monitor --metrics-port``, gzip asked as Prometheus asks, and without),
and of their parts: reading the workspace (the rows' sum included), the rows' sum alone, writing the
text; ``exporter.scrape`` (``fuseboard metrics``); prometheus_client's ``generate_latest`` on
``exporter.registry`` (its own text writer) and a scrape with ``per_feature``, three times each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def template_states(real_url: str, path: Path) -> dict[str, tuple[str, str, int, dict]]:
    """A state per check (status, summary, rows, details) from real checks of one real deployment."""
    from fuseboard.monitoring import checks, ingest
    from fuseboard.monitoring.evaluate import evaluate_health
    from fuseboard.monitoring.probe import ProbeResult
    from fuseboard.store.db import open_workspace

    real = open_workspace(real_url)
    ingest.ingest_file(real, "bench", "prod", path)
    from sqlmodel import select

    from fuseboard.store.models import WindowProfile

    with real.session() as s:
        last = max(w.window_start for w in s.exec(select(WindowProfile)))
    (result,) = checks.run_checks(real, now=last + timedelta(minutes=5), probe_endpoints=False)
    states = {c.check: (c.status, c.summary, c.rows, c.details) for c in result.checks}
    health = None
    for i in range(120):  # a full probe history, as a monitor running for an hour keeps it
        health = evaluate_health(ProbeResult(True, 200, 20.0 + i % 7, "1"), 1, "internal",
                                 health.details if health else None)
    states["health"] = (health.status, health.summary, 0, health.details)
    real.close()
    return states


def varied(check: str, details: dict, i: int) -> dict:
    """The template's details made the deployment's own: values differ from one deployment to the next,
    as they do in a real workspace (the same values everywhere would flatter any cache)."""
    import copy

    out = copy.deepcopy(details)
    if check == "performance":
        out["metrics"] = {k: v * (1 - i * 1e-6) for k, v in out["metrics"].items()}
        for graded in out["checks"]:
            graded["current"] = out["metrics"][graded["metric"]]
    elif check == "health":
        out["latency_ms"] = 5 + (i * 7919 % 10_000) / 100
    elif check == "drift":
        for f in out["features"][:i % 4]:
            f["drifted"], f["severity"] = True, "warn"
        for f in out["features"]:
            f["score"] = f["score"] * (1 + (i % 1000) / 1000)
    return out


def build(tmp: Path, models: int, windows: int) -> tuple[str, int, int]:
    """The workspace; returns its URL, the deployments and the windows."""
    from sqlalchemy import insert
    from sqlmodel import select

    import ingest as ingest_bench
    from make_workspace import build as build_workspace
    from make_workspace import like_real_model, window_rows

    from fuseboard.store.db import open_workspace
    from fuseboard.store.models import Alert, CheckState, ModelVersion, WindowProfile, utcnow

    real_url, path = ingest_bench.setup(tmp, 60_000)
    states = template_states(real_url, path)
    real = open_workspace(real_url)
    with real.session() as s:
        template = s.exec(select(WindowProfile).order_by(WindowProfile.window_start)).all()
        reference = s.exec(select(ModelVersion)).first()
    url = build_workspace(tmp / "many.db", models)
    ws = open_workspace(url)
    deployments = like_real_model(ws, reference, "http://127.0.0.1:9")
    now = utcnow()
    copies = (template * (windows // len(template) + 1))[:windows]
    stored = 0
    for lo in range(0, len(deployments), 500):
        with ws.transaction() as s:
            rows = window_rows(deployments[lo:lo + 500], copies, now - timedelta(minutes=5 * windows), now)
            if rows:
                s.execute(insert(WindowProfile), rows)
            stored += len(rows)
            s.execute(insert(CheckState), [
                {"model_id": d.model_id, "environment_id": d.environment_id, "check": check,
                 "version_id": d.version_id, "status": ("warn" if (d.id + n) % 17 == 0 else status),
                 "summary": summary, "rows": rows_, "details": varied(check, details, d.id), "at": now, "since": now}
                for d in deployments[lo:lo + 500] for n, (check, (status, summary, rows_, details))
                in enumerate(states.items())])
    opened = [{"fingerprint": (key := f"{d.model_id}/{d.environment_id}/drift"), "open_key": key,
               "model_id": d.model_id, "environment_id": d.environment_id, "check": "drift",
               "severity": "crit" if d.id % 3 else "warn", "state": "firing", "summary": "bench", "opened_at": now,
               "last_seen_at": now} for d in deployments if d.id % 50 == 0]
    if opened:  # (none in a small run: an empty insert would be one row of defaults)
        with ws.transaction() as s:
            s.execute(insert(Alert), opened)
    ws.close()
    return url, len(deployments), stored


def timed(action, runs: int, apart: float = 0.0) -> tuple[float, object]:  # noqa: ANN001
    """The median time of ``runs`` calls of ``action`` (``apart`` seconds after the previous one ended), and
    what the last one returned."""
    times, out = [], None
    for _ in range(runs):
        time.sleep(apart)
        began = time.perf_counter()
        out = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), out


def http_get(url: str, gzip_ok: bool) -> bytes:
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310  (loopback)
        return answer.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3334, help="models, each deployed in 3 environments")
    parser.add_argument("--windows", type=int, default=12, help="five-minute windows per deployment")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the workspace in this folder and keep it (reused if there)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from prometheus_client import generate_latest

    from make_workspace import report

    from fuseboard.monitoring import exporter
    from fuseboard.store.db import open_workspace

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="fuseboard-metrics-"))
    tmp.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    if args.keep and (tmp / "many.db").exists():
        url = f"sqlite:///{tmp / 'many.db'}"
        result: dict[str, float | int | str] = {"reused": str(tmp / "many.db")}
    else:
        url, deployments, windows = build(tmp, args.models, args.windows)
        result = {"deployments": deployments, "windows": windows, "generated_s": time.perf_counter() - began}
    ws = open_workspace(url, read_only=True)
    sums = exporter._RowSums(ws, wait=None)
    sums.result(sums.start())  # statements compiled, pages in the cache
    result["rows_sum_alone_median_s"], _ = timed(lambda: sums.result(sums.start()), args.runs)
    # a server sums the rows again once the last sum is 10 times its duration old: scrapes this far apart
    # each sum them, as Prometheus's every 15 s or so would
    apart = 10 * float(result["rows_sum_alone_median_s"]) + 0.2
    with exporter.serve(ws, 0) as server:  # what Prometheus gets: read, text, HTTP, as `monitor --metrics-port`
        http_get(server.url, True)
        result["http_scrape_median_s"], packed = timed(lambda: http_get(server.url, True), args.runs, apart)
        result["http_scrape_no_gzip_median_s"], text = timed(lambda: http_get(server.url, False), args.runs, apart)
    result["http_gzip_mb"] = len(packed) / 1e6
    result["exposition_mb"] = len(text) / 1e6
    result["samples"] = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
    result["read_median_s"], snapshot = timed(lambda: exporter.read(ws), args.runs)  # waiting for the rows' sum
    result["deployments_read"] = len(snapshot.deployments)
    result["text_median_s"], _ = timed(lambda: exporter.exposition(exporter.families(snapshot)), args.runs)
    result["scrape_function_median_s"], _ = timed(lambda: exporter.scrape(ws), args.runs)  # `fuseboard metrics`
    registry = exporter.registry(ws)
    generate_latest(registry)
    result["prometheus_client_generate_latest_median_s"], _ = timed(lambda: generate_latest(registry), 3)
    result["per_feature_scrape_median_s"], text = timed(lambda: exporter.scrape(ws, per_feature=True), 3)
    result["per_feature_samples"] = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
    ws.close()
    report(result, args.json)


if __name__ == "__main__":
    main()
