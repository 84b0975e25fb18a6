"""Faults: a change whose process is killed mid-hook is reconciled, never recorded as done when it was not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from fuseboard.ops import deploy, environments
from fuseboard.store.db import open_workspace
from fuseboard.store.models import utcnow
from fuseboard.ops.views import environment_matrix, rollout_history
from tests.support.http import VersionEndpoint
from tests.support.processes import first_line as _line


def serving(url: str) -> int:
    ws = open_workspace(url)
    _, rows = environment_matrix(ws)
    return next(r for r in rows if r.model == "tumour-screening").cells["prod"].version


def kill_mid_hook(url: str, tmp_path: Path) -> None:
    """`fuseboard rollback` in its own process, killed with SIGKILL while its hook runs."""
    started = tmp_path / "hook-started"
    hook = [sys.executable, "-c", f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(60)"]
    environments.configure(open_workspace(url), "prod", hook={"command": hook, "timeout": 1}, actor="t", origin="cli")
    proc = subprocess.Popen([sys.executable, "-c", "from fuseboard.cli import main; main()", "--db", url, "rollback",
                             "tumour-screening", "--env", "prod", "--to", "1", "--yes", "--wait", "0"],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its hook, mid-hook
    proc.wait()
    [pending] = [r for r in rollout_history(open_workspace(url), "tumour-screening", "prod") if r.state == "pending"]
    assert pending.to_version == 1 and serving(url) == 2  # not recorded as done


@pytest.mark.parametrize("endpoint_reports, outcome, now_serving", [("1", "succeeded", 1), ("2", "failed", 2)])
def test_a_change_killed_mid_hook_is_reconciled_from_the_endpoint(demo_url: str, tmp_path: Path, endpoint,  # noqa: ANN001
                                                                   endpoint_reports: str, outcome: str,
                                                                   now_serving: int) -> None:
    server = endpoint
    ws = open_workspace(demo_url)
    deploy.deploy(ws, "tumour-screening", 2, "prod", actor="t", origin="cli",
                  endpoint_url=f"http://127.0.0.1:{server.server_address[1]}")
    kill_mid_hook(demo_url, tmp_path)
    assert deploy.reconcile(ws) == []  # too early: the hook might still be running somewhere
    server.version = endpoint_reports  # did the serving system follow before the process died?
    [result] = deploy.reconcile(ws, now=utcnow() + timedelta(minutes=2))
    assert result.state == outcome and "the process running the hook stopped" in result.hook_status
    assert serving(demo_url) == now_serving
    latest = rollout_history(ws, "tumour-screening", "prod")[0]
    assert latest.state == outcome
    assert deploy.reconcile(ws, now=utcnow() + timedelta(minutes=5)) == []  # settled once
    # and the deployment takes changes again
    retry = deploy.change(ws, "tumour-screening", "prod", action="rollback", version=1, actor="t", origin="cli",
                          run_hook=lambda hook, values: __import__("fuseboard.ops.hooks", fromlist=["x"]).HookResult(
                              True, "exit 0", "", "", 0.0))
    assert retry.state in ("succeeded", "unchanged")


class Misbehaving(BaseHTTPRequestHandler):
    """One endpoint per path: /ok, /hang (never answers), /slow (answers after 5 s), /500, /garbage, /wrong."""

    def do_GET(self) -> None:  # noqa: N802
        kind = self.path.strip("/").split("/")[0]
        if kind in ("hang", "slow"):
            time.sleep(5 if kind == "slow" else 30)
        if kind == "500":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = {"garbage": b"\x00\xff<html>not json", "wrong": b'{"version": "9"}'}.get(kind, b'{"version": "2"}')
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_misbehaving_endpoints_give_the_right_state_within_the_timeout(demo_url: str, http_server) -> None:  # noqa: ANN001
    from sqlmodel import select

    from fuseboard.monitoring import checks
    from fuseboard.store.models import Deployment, Environment, Model

    server = http_server(Misbehaving)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    kinds = {"churn-propensity": "hang", "credit-risk": "slow", "demand-forecast": "500",
             "disease-progression": "garbage", "tumour-screening": "wrong"}
    ws = open_workspace(demo_url)
    with ws.transaction() as s:  # every prod endpoint misbehaves its own way; dev endpoints are fine
        for dep, model, env in s.exec(select(Deployment, Model, Environment)
                                      .join(Model, Model.id == Deployment.model_id)
                                      .join(Environment, Environment.id == Deployment.environment_id)):
            dep.endpoint_url = f"{base}/{kinds[model.name] if env.name == 'prod' else 'ok'}"
            s.add(dep)
    refused = checks.probe("http://127.0.0.1:9", timeout=1)
    assert not refused.up and refused.error
    began = time.monotonic()
    results = checks.run_checks(ws, policy=checks.Policy(probe_timeout=1.0), only={"health"})
    took = time.monotonic() - began
    assert took < 4, took  # probes run side by side, each within its timeout: a hang delays nothing else
    health = {(r.model, r.environment): r.checks[0] for r in results}
    for model, kind in kinds.items():
        details = health[(model, "prod")].details
        if kind in ("hang", "slow", "500"):
            assert not details["up"], (model, details)
        elif kind == "garbage":
            assert details["up"] and details["version"] is None
        else:
            assert health[(model, "prod")].summary.startswith("version mismatch: endpoint serves version 9")
        assert details["up"] or details["error"] or details["status_code"]
    assert all(health[(m, "dev")].details["up"] for m in kinds)


class SlowEndpoint(VersionEndpoint):
    """Answers after 1.5 s (within the 2 s probe timeout), noting that a probe arrived."""

    arrived: Any = None

    def do_GET(self) -> None:  # noqa: N802
        type(self).arrived.set()
        time.sleep(1.5)
        super().do_GET()


def _health_states(url: str) -> dict[tuple[int, int], Any]:
    from sqlmodel import select

    from fuseboard.store.models import CheckState

    with open_workspace(url).session() as s:
        return {(c.model_id, c.environment_id): c.at for c in s.exec(select(CheckState).where(CheckState.check == "health"))}


@pytest.mark.slow
def test_a_monitor_killed_mid_check_leaves_no_half_cycle_and_a_standby_takes_over(demo_url: str,
                                                                                  http_server) -> None:  # noqa: ANN001
    import threading

    from sqlmodel import select

    from fuseboard.store.models import Deployment

    handler = type("H", (SlowEndpoint,), {"arrived": threading.Event()})
    server = http_server(handler, version="2")
    ws = open_workspace(demo_url)
    with ws.transaction() as s:
        deployments = list(s.exec(select(Deployment)))
        for dep in deployments:
            dep.endpoint_url = f"http://127.0.0.1:{server.server_address[1]}"
            s.add(dep)
    before = _health_states(demo_url)

    def monitor() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "fuseboard", "--db", demo_url, "monitor", "--lease-ttl", "3",
                                 "--health-every", "5", "--drift-every", "600", "--performance-every", "600"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    first = monitor()
    second = None
    try:
        assert "(standby" not in _line(first, "stderr", 30)
        assert handler.arrived.wait(30)  # its health cycle is probing: mid-check
        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(10)
        assert _health_states(demo_url) == before  # the killed cycle recorded nothing, not half of it
        second = monitor()
        line = ""
        while not line.startswith("health:") and time.monotonic() - killed_at < 30:
            line = _line(second, "stdout", 30 - (time.monotonic() - killed_at))
        took = time.monotonic() - killed_at
        # the lease (3 s) expires, then the next health interval (5 s) and its probes (1.5 s): all of it
        assert line.startswith("health:"), line
        assert took < 3 + 5 + 1.5 + 5, took
        after = _health_states(demo_url)
        assert set(after) == {(d.model_id, d.environment_id) for d in deployments}  # every deployment, once
        assert all(before.get(k) is None or at > before[k] for k, at in after.items())
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)


@pytest.mark.slow
def test_an_ingest_killed_at_any_moment_leaves_all_of_its_batch_or_none(demo_url: str, tmp_path: Path) -> None:
    from sqlmodel import func, select

    from fuseboard.store.models import Model, WindowProfile
    import pandas as pd

    from tests.support.rows import credit_rows

    rows = 20_000

    def batch(attempt: int) -> Path:  # rows with request ids of their own each time
        path = tmp_path / f"batch{attempt}.parquet"
        pd.concat([credit_rows(1_000, seed=1_000 * attempt + k) for k in range(rows // 1_000)]).to_parquet(
            path, index=False)
        return path

    def counted() -> int:
        with open_workspace(demo_url).session() as s:
            model = s.exec(select(Model.id).where(Model.name == "credit-risk")).one()
            return int(s.exec(select(func.coalesce(func.sum(WindowProfile.rows), 0))
                              .where(WindowProfile.model_id == model)).one())

    base = counted()
    outcomes = set()
    for attempt, delay in enumerate((0.5, 0.9, 1.2, 1.5, 1.8, 2.1, 2.5, 3.0, 6.0)):  # start-up .. done
        path = batch(attempt)
        proc = subprocess.Popen([sys.executable, "-m", "fuseboard", "--db", demo_url, "ingest", "credit-risk",
                                 str(path), "--env", "prod"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        now = counted()
        assert (now - base) in (0, rows), (delay, now - base)  # the whole batch or none of it
        outcomes.add(now - base)
        base = now
    assert rows in outcomes  # (the last one had time to finish)
    if demo_url.startswith("sqlite"):
        con = __import__("sqlite3").connect(demo_url.removeprefix("sqlite:///"))
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
