"""fuseboard's metrics in a real Prometheus (Debian's ``prometheus``, on a free loopback port): ``fuseboard monitor
--metrics-port`` serves the demo workspace, Prometheus scrapes it every second, and its query API returns every
demo model's check statuses, the monitor's lease and the verdicts of the cycles it ran.

Skipped when the ``prometheus`` binary is missing, unless FUSEBOARD_REQUIRE_SERVICES=1 (then it fails).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from fuseboard.store.db import open_workspace
from fuseboard.store.models import Deployment, Model
from tests.support.services import binary, free_port, get, prometheus, query

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fuseboard
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


def start_monitor(url: str, port: int, folder: Path) -> subprocess.Popen:
    """``fuseboard monitor --metrics-port PORT`` on the workspace, its output in files of ``folder``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "fuseboard", "--db", url, "monitor", "--metrics-port", str(port),
                             "--health-every", "5", "--drift-every", "600", "--performance-every", "600"],
                            stdout=(folder / "monitor.out").open("wb"), stderr=(folder / "monitor.err").open("wb"),
                            stdin=subprocess.DEVNULL, env=env)


def wait_for(what: str, found, within: float = 30, poll: float = 0.25):  # noqa: ANN001, ANN201
    """``found()`` once it is truthy, polled for at most ``within`` seconds (a bound, not a speed test)."""
    deadline = time.monotonic() + within
    while True:
        result = found()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {within:.0f} s")
        time.sleep(poll)


@pytest.mark.slow
def test_prometheus_scrapes_the_monitors_metrics(demo_url: str, tmp_path: Path) -> None:
    binary("prometheus", "prometheus")  # skip (or fail) before starting anything
    ws = open_workspace(demo_url, read_only=True)
    with ws.session() as s:
        models = set(s.exec(select(Model.name)))
        deployments = len(s.exec(select(Deployment)).all())
    ws.close()
    port = free_port()
    monitor = start_monitor(demo_url, port, tmp_path)
    try:
        def serving() -> bool:
            if monitor.poll() is not None:
                pytest.fail(f"the monitor exited: {(tmp_path / 'monitor.err').read_text()[-2000:]}")
            try:
                return b"fuseboard_check_status{" in get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                return False

        wait_for("the monitor serves its metrics", serving, within=60)
        with prometheus(CONFIG.format(port=port)) as url:
            up = wait_for("Prometheus scrapes the monitor", lambda: [
                r for r in query(url, 'up{job="fuseboard"}') if r["value"][1] == "1"])
            assert len(up) == 1

            def statuses() -> list[dict]:
                found = query(url, "fuseboard_check_status")
                return found if {r["metric"]["model"] for r in found} == models else []

            found = wait_for("every demo model's check statuses in Prometheus", statuses)
            assert len(found) == deployments * 8  # every check of every deployment, -1 until it has run
            assert {r["metric"]["job"] for r in found} == {"fuseboard"}
            # the monitor's cycles reach Prometheus: churn's staleness (past its retrain-by date) is a warning
            stale = wait_for("churn's staleness warning", lambda: query(
                url, 'fuseboard_check_status{model="churn-propensity",check="staleness"} == 1'))
            assert {r["metric"]["environment"] for r in stale} == {"dev", "staging", "prod"}
            assert query(url, "fuseboard_monitor_leader")[0]["value"][1] == "1"
            versions = query(url, "fuseboard_deployed_version_info")
            assert len(versions) == deployments and {r["metric"]["model"] for r in versions} == models
            assert wait_for("a health cycle's timing", lambda: query(
                url, 'fuseboard_monitor_last_success_timestamp_seconds{kind="health"}'))
    finally:
        monitor.send_signal(signal.SIGTERM)
        try:
            monitor.wait(15)
        except subprocess.TimeoutExpired:
            monitor.kill()
            monitor.wait(10)
